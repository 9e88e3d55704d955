/**
 * iguratimod-response (patient-view): for a patient with an iguratimod course, one card with the
 * course's state by docs/clinical-rules.md#6-response: interim before the assessment window, the week-24 verdict
 * (kang2020, kdigo2024 beside it), an early stop, and after a response either a renal relapse or
 * remission maintained. A patient who never took iguratimod gets no card.
 */
import {
  RESPONSE_LAB_KINDS,
  defaultThresholds,
  responseLabsFrom,
  week24Response,
  type Thresholds,
} from "../../src/clinical/index.js";
import { steroidDoseAt } from "../../src/clinical/glucocorticoids.js";
import { glucocorticoidFacts } from "../../src/fhir/glucocorticoids.js";
import type { CdsService } from "../types.js";
import { medicationResources, patientDataOf, prefetchOf } from "../shared/prefetch.js";
import { responseCard } from "./cards.js";

/** The labs the response rules read: hemoglobin and ALT (a third of a chart's labs) are not. */
const LAB_KINDS = new Set(RESPONSE_LAB_KINDS);

export function iguratimodResponseService(
  deps: { readonly thresholds?: Thresholds } = {},
): CdsService {
  const thresholds = deps.thresholds ?? defaultThresholds;
  return {
    id: "iguratimod-response",
    hooks: ["patient-view"],
    title: "Iguratimod response in lupus nephritis",
    description:
      "Week-24 renal response to iguratimod by the kang2020 criteria with KDIGO 2024 beside them, and relapse or maintained remission afterwards.",
    prefetch: prefetchOf(["patient", "labs", "medicationStatements", "medicationRequests"]),
    requiredPrefetch: ["patient", "labs", "medicationStatements", "medicationRequests"],
    evaluate(input) {
      const { facts, prefetchNotes } = patientDataOf(input, thresholds, {
        labKinds: LAB_KINDS,
        labsFrom: (courses) => responseLabsFrom(courses, input.now, thresholds),
      });
      const finding = week24Response(facts, input.now, thresholds);
      if (!finding) return { cards: [] };
      const patientRef = `Patient/${input.context.patientId}`;
      // Only the medication keys: the labs need not be walked again for the steroid doses.
      const gc = glucocorticoidFacts(medicationResources(input.data), input.context.patientId);
      const day0 = steroidDoseAt(gc, Date.parse(finding.day0));
      const now = steroidDoseAt(gc, input.now.getTime());
      const steroids = { ...(day0 ? { day0 } : {}), ...(now ? { now } : {}) };
      return {
        cards: [responseCard(finding, { patientRef, thresholds, prefetchNotes, steroids })],
      };
    },
  };
}
