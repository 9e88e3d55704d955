/**
 * iguratimod-safety (patient-view): anaemia, liver injury and overdue monitoring while on
 * iguratimod or within 30 days of stopping (docs/clinical-rules.md#7-safety). Nothing to say → no cards.
 *
 * Every anaemia or liver finding at warning or critical since day 0 is also a safety-team alert
 * (docs/cds-contract.md#alerts). evaluate only says which: the runtime (src/hooks/runtime.ts)
 * records them before the answer leaves, and when it cannot, the finding's card says that the
 * safety team was not notified.
 */
import {
  anemiaFinding,
  defaultThresholds,
  liverFinding,
  monitoringOverdue,
  SAFETY_LAB_KINDS,
  safetyLabsFrom,
  safetyAlertEvents,
  type Thresholds,
} from "../../src/clinical/index.js";
import { alertInputsFromEvents } from "../../src/alerts/from-events.js";
import type { CdsService } from "../types.js";
import { patientDataOf, prefetchOf } from "../shared/prefetch.js";
import { safetyCard } from "./cards.js";

/**
 * The labs the safety rules grade, and of the others only the latest (monitoring asks when any
 * result last came): most of a chart's labs are left unread.
 */
const LAB_KINDS = new Set(SAFETY_LAB_KINDS);

export interface SafetyServiceDeps {
  readonly thresholds?: Thresholds;
}

export function iguratimodSafetyService(deps: SafetyServiceDeps = {}): CdsService {
  const thresholds = deps.thresholds ?? defaultThresholds;
  return {
    id: "iguratimod-safety",
    hooks: ["patient-view"],
    title: "Iguratimod safety",
    description:
      "Hemoglobin and ALT on iguratimod graded by CTCAE v5.0 (anaemia, liver injury) and overdue monthly monitoring; warning and critical findings also alert the safety team.",
    prefetch: prefetchOf(["patient", "labs", "medicationStatements", "medicationRequests"]),
    requiredPrefetch: ["patient", "labs", "medicationStatements", "medicationRequests"],
    evaluate(input) {
      const { facts, resources, prefetchNotes } = patientDataOf(input, thresholds, {
        labKinds: LAB_KINDS,
        latestOfOtherKinds: true,
        labsFrom: (courses) => safetyLabsFrom(courses, input.now, thresholds),
      });
      const alerts = alertInputsFromEvents(safetyAlertEvents(facts, input.now, thresholds));
      const findings = [
        anemiaFinding(facts, input.now, thresholds),
        liverFinding(facts, input.now, thresholds),
        monitoringOverdue(facts, input.now, thresholds),
      ];
      const patientRef = `Patient/${input.context.patientId}`;
      const ctx = { resources, patientRef, thresholds, prefetchNotes };
      const cards = findings.flatMap((f) => (f ? [safetyCard(f, ctx)] : []));
      return alerts.length > 0 ? { cards, alerts } : { cards };
    },
  };
}
