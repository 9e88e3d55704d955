/**
 * The iguratimod order check (docs/clinical-rules.md#8-ordering): one code path under three ids.
 * `iguratimod-order-select` (order-select) and `iguratimod-order-sign` (order-sign) are listed in
 * discovery, each with its own id (docs/cds-contract.md#services); `iguratimod-order-check`
 * answers both hooks for callers that know the old id, and is not listed. The dispatch on `hook`
 * decides which drafts are looked at (on order-select the ones just selected, when the EHR names
 * them; on order-sign every draft) and which cards are returned. No iguratimod draft (another
 * drug, or an order-select fired on an empty draft) → no cards, before any patient data is read.
 */
import type { Medication, MedicationRequest } from "fhir/r4.js";
import {
  defaultThresholds,
  iguratimodOrderChecks,
  type Thresholds,
} from "../../src/clinical/index.js";
import { readDraftOrder } from "../../src/fhir/normalise/draft-orders.js";
import { draftMedicationRequests } from "../../src/hooks/schemas.js";
import type { Card } from "../../src/hooks/schemas.js";
import type { CdsService, HookRequest } from "../types.js";
import { ALL_PATIENT_DATA_KEYS, patientDataOf, prefetchOf } from "../shared/prefetch.js";
import { orderCheckCard } from "./cards.js";

function draftsOf(input: HookRequest): { drafts: MedicationRequest[]; meds: Medication[] } {
  if (input.hook === "patient-view") return { drafts: [], meds: [] };
  const entries = input.context.draftOrders.entry ?? [];
  const meds = entries
    .map((e) => e.resource)
    .filter((r): r is Medication => r?.resourceType === "Medication");
  let drafts = draftMedicationRequests(input.context);
  if (input.hook === "order-select") {
    const selected = new Set(input.context.selections);
    const chosen = drafts.filter(
      (d) => d.id !== undefined && selected.has(`MedicationRequest/${d.id}`),
    );
    // Some EHRs send selections that do not match the drafts' ids: then look at every draft.
    if (chosen.length > 0) drafts = chosen;
  }
  return { drafts, meds };
}

/**
 * The drafts that order iguratimod, read as docs/clinical-rules.md#8-ordering reads them: `looked` are the ones this hook looks
 * at (order-select: the selected ones), `iguratimod` every iguratimod draft in `draftOrders`, since
 * the daily dose is summed over all of them; `drafts` are all MedicationRequest drafts.
 */
function iguratimodDraftsOf(request: HookRequest) {
  const { drafts: looked, meds } = draftsOf(request);
  const drafts = request.hook === "patient-view" ? [] : draftMedicationRequests(request.context);
  const read = drafts.map((mr) => ({ mr, order: readDraftOrder(mr, meds) }));
  const iguratimod = read.filter((d) => d.order.isIguratimod);
  const speaks = looked.some((mr) => iguratimod.some((d) => d.mr === mr));
  return { drafts, iguratimod: speaks ? iguratimod : [] };
}

export const ORDER_SELECT_ID = "iguratimod-order-select";
export const ORDER_SIGN_ID = "iguratimod-order-sign";
/** The id of version 1, which served both hooks; still answered, no longer listed. */
export const ORDER_CHECK_ALIAS = "iguratimod-order-check";

export function iguratimodOrderCheckService(
  deps: {
    readonly thresholds?: Thresholds;
    readonly id?: string;
    readonly hooks?: CdsService["hooks"];
    readonly listed?: boolean;
  } = {},
): CdsService {
  const thresholds = deps.thresholds ?? defaultThresholds;
  const keys = ALL_PATIENT_DATA_KEYS;
  const hooks = deps.hooks ?? ["order-sign"];
  return {
    id: deps.id ?? ORDER_SIGN_ID,
    hooks,
    ...(deps.listed === false ? { listed: false } : {}),
    title:
      hooks.length === 1 && hooks[0] === "order-select"
        ? "Iguratimod order check (on selection)"
        : hooks.length === 1
          ? "Iguratimod order check (on signing)"
          : "Iguratimod order check",
    description:
      "When iguratimod is ordered: refractory-LN eligibility (kang2020), warfarin, pregnancy, the latest hemoglobin and ALT, a previous iguratimod course, iguratimod already active, baseline labs, the summed daily dose, and immunosuppressants still active." +
      (hooks.length === 1 && hooks[0] === "order-select"
        ? " On selection: only the warning and critical cards."
        : ""),
    prefetch: prefetchOf(keys),
    requiredPrefetch: keys,
    appliesTo: (request) => iguratimodDraftsOf(request).iguratimod.length > 0,
    evaluate(input) {
      const { drafts, iguratimod } = iguratimodDraftsOf(input);
      const first = iguratimod[0];
      if (!first) return { cards: [] };
      // The drafts are what is being decided, not history: keep them out of the patient's facts.
      const exclude = new Set(drafts.flatMap((d) => (d.id ? [`MedicationRequest/${d.id}`] : [])));
      const { facts, prefetchNotes } = patientDataOf(input, thresholds, { exclude });
      const patientRef = `Patient/${input.context.patientId}`;
      const findings = iguratimodOrderChecks(
        facts,
        iguratimod.map((d) => d.order),
        input.now,
        thresholds,
      );
      const cards: Card[] = findings
        // docs/clinical-rules.md#8-ordering: order-select only warns; order-sign shows everything.
        .filter((f) => input.hook !== "order-select" || f.indicator !== "info")
        .map((f) =>
          orderCheckCard(f, {
            patientRef,
            drafts: iguratimod.map((d) => d.mr),
            thresholds,
            prefetchNotes,
            now: input.now,
          }),
        );
      return { cards };
    },
  };
}
