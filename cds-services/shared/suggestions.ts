/**
 * Suggestions a clinician can accept with one click: draft ServiceRequests for labs that are
 * missing or overdue, and stopping an active iguratimod MedicationRequest on a critical safety
 * finding. Each suggestion and action says in words what it does (CDS Hooks 2.0).
 */
import { randomUUID } from "node:crypto";
import type { FhirResource, MedicationRequest, ServiceRequest } from "fhir/r4.js";
import type { Medication } from "fhir/r4.js";
import {
  LOINC_SYSTEM,
  ORDERABLE_LAB_CODES,
  SNOMED_LABORATORY_PROCEDURE,
  SNOMED_SYSTEM,
  type OrderableLab,
} from "../../src/clinical/index.js";
import { agentOf } from "../../src/fhir/normalise/index.js";
import type { Suggestion } from "../../src/hooks/schemas.js";

export type { OrderableLab } from "../../src/clinical/index.js";

/**
 * LOINC orderables: CBC hemoglobin, ALT, serum creatinine, 24-h urine protein, serum albumin,
 * and the KDIGO 2024 work-up of a relapse or no response: urine sediment, C3, C4, anti-dsDNA.
 */
export const LAB_ORDERS: Readonly<
  Record<OrderableLab, { loinc: string; display: string; label: string }>
> = {
  hemoglobin: { ...ORDERABLE_LAB_CODES.hemoglobin, label: "hemoglobin (CBC)" },
  alt: { ...ORDERABLE_LAB_CODES.alt, label: "ALT" },
  creatinine: { ...ORDERABLE_LAB_CODES.creatinine, label: "serum creatinine" },
  protein24h: { ...ORDERABLE_LAB_CODES.protein24h, label: "24-hour urine protein" },
  albumin: { ...ORDERABLE_LAB_CODES.albumin, label: "serum albumin" },
  urineSediment: { ...ORDERABLE_LAB_CODES.urineSediment, label: "urine sediment (red cells)" },
  c3: { ...ORDERABLE_LAB_CODES.c3, label: "C3" },
  c4: { ...ORDERABLE_LAB_CODES.c4, label: "C4" },
  antiDsDna: { ...ORDERABLE_LAB_CODES.antiDsDna, label: "anti-dsDNA" },
};

/** The KDIGO 2024 work-up of a renal relapse or of no response (docs/clinical-rules.md#6-response). */
export const KDIGO_WORK_UP: readonly OrderableLab[] = ["urineSediment", "c3", "c4", "antiDsDna"];

/** Each lab's suggestion label and action description, written once. */
const ORDER_TEXTS: Readonly<Record<OrderableLab, { label: string; description: string }>> =
  Object.fromEntries(
    Object.entries(LAB_ORDERS).map(([lab, order]) => [
      lab,
      {
        label: `Order ${order.label}`,
        description: `Create a draft order for ${order.label} (LOINC ${order.loinc})`,
      },
    ]),
  ) as Record<OrderableLab, { label: string; description: string }>;

function serviceRequest(patientRef: string, lab: OrderableLab, reason: string): ServiceRequest {
  const order = LAB_ORDERS[lab];
  return {
    resourceType: "ServiceRequest",
    status: "draft",
    intent: "proposal",
    category: [
      {
        coding: [
          {
            system: SNOMED_SYSTEM,
            code: SNOMED_LABORATORY_PROCEDURE.code,
            display: SNOMED_LABORATORY_PROCEDURE.display,
          },
        ],
      },
    ],
    code: { coding: [{ system: LOINC_SYSTEM, code: order.loinc, display: order.display }] },
    subject: { reference: patientRef },
    reasonCode: [{ text: reason }],
  };
}

/** One suggestion per lab, each creating a draft ServiceRequest for the patient. */
export function labOrderSuggestions(
  patientRef: string,
  labs: readonly OrderableLab[],
  reason: string,
): Suggestion[] {
  const out: Suggestion[] = [];
  for (const lab of labs) {
    const texts = ORDER_TEXTS[lab];
    out.push({
      label: texts.label,
      uuid: randomUUID(),
      isRecommended: true,
      actions: [
        {
          type: "create",
          description: texts.description,
          resource: serviceRequest(patientRef, lab, reason) as unknown as Record<string, unknown>,
        },
      ],
    });
  }
  return out;
}

/** Active iguratimod MedicationRequests of the data (the orders a clinician would stop). */
export function activeIguratimodRequests(resources: readonly FhirResource[]): MedicationRequest[] {
  const meds = new Map<string, Medication>();
  for (const r of resources) if (r.resourceType === "Medication" && r.id) meds.set(r.id, r);
  return resources.filter(
    (r): r is MedicationRequest =>
      r.resourceType === "MedicationRequest" &&
      r.status === "active" &&
      r.id !== undefined &&
      agentOf(r, meds) === "iguratimod",
  );
}

/**
 * An EHR's resource made fit to send back in an `update` action: the null, "", [] and {} that
 * FHIR and CDS Hooks both forbid, but some EHRs send anyway, are left out (leaving out an empty
 * element changes nothing in FHIR). Otherwise the action would break a CDS Hooks invariant.
 */
export function withoutEmptyValues<T extends object>(resource: T): T {
  const prune = (value: unknown): unknown => {
    if (value === null || value === "") return undefined;
    if (Array.isArray(value)) {
      const items = value.map(prune).filter((v) => v !== undefined);
      return items.length > 0 ? items : undefined;
    }
    if (typeof value === "object") {
      const entries = Object.entries(value)
        .map(([k, v]) => [k, prune(v)] as const)
        .filter(([, v]) => v !== undefined);
      return entries.length > 0 ? Object.fromEntries(entries) : undefined;
    }
    return value;
  };
  return (prune(resource) ?? {}) as T;
}

/**
 * On a critical anaemia or liver card: stop each active iguratimod order. The action sends the
 * whole resource with status `stopped` and the reason, as CDS Hooks `update` requires.
 */
export function stopIguratimodSuggestions(
  resources: readonly FhirResource[],
  reason: string,
): Suggestion[] {
  return activeIguratimodRequests(resources).map((mr) => ({
    label: "Stop iguratimod",
    uuid: randomUUID(),
    isRecommended: true,
    actions: [
      {
        type: "update",
        description: `Set the active iguratimod order${mr.authoredOn ? ` of ${mr.authoredOn.slice(0, 10)}` : ""} to stopped: ${reason}`,
        resource: withoutEmptyValues({
          ...mr,
          status: "stopped",
          statusReason: { text: reason },
        }) as unknown as Record<string, unknown>,
      },
    ],
  }));
}
