/**
 * iguratimod-safety (patient-view): anaemia, liver injury and overdue monitoring while on
 * iguratimod or within 30 days of stopping (docs/clinical-rules.md#7-safety). Nothing to say → no cards.
 *
 * Every anaemia or liver finding at warning or critical since day 0 is also a safety-team alert
 * (contract "Safety-team alerts"). The alerts are recorded before the cards are returned, so
 * before the HTTP response. The sink never throws: when the write fails the alert waits in the
 * local spool (or, failing that, is lost), and the clinician still gets the cards, each finding
 * whose alert is not in the store saying which on its card.
 */
import {
  anemiaFinding,
  defaultThresholds,
  liverFinding,
  monitoringOverdue,
  safetyAlertEvents,
  type Thresholds,
} from "../../src/clinical/index.js";
import { alertInputsFromEvents } from "../../src/alerts/from-events.js";
import type { AlertSink } from "../../src/alerts/types.js";
import type { CdsService } from "../types.js";
import { patientDataOf, prefetchOf } from "../shared/prefetch.js";
import { safetyCard } from "./cards.js";

export interface SafetyServiceDeps {
  /** Where safety-team alerts go; without one (unit tests, tools) no alert is raised. */
  readonly alertSink?: AlertSink;
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
    async evaluate(input) {
      const { facts, resources, prefetchNotes } = patientDataOf(input, thresholds);
      const notRecorded = new Map<string, "queued" | "failed">();
      if (deps.alertSink) {
        const alerts = alertInputsFromEvents(safetyAlertEvents(facts, input.now, thresholds));
        const outcome =
          alerts.length > 0 ? await deps.alertSink.raise(alerts, "patient-view") : "recorded";
        if (outcome !== "recorded") for (const a of alerts) notRecorded.set(a.rule, outcome);
      }
      const findings = [
        anemiaFinding(facts, input.now, thresholds),
        liverFinding(facts, input.now, thresholds),
        monitoringOverdue(facts, input.now, thresholds),
      ];
      const patientRef = `Patient/${input.context.patientId}`;
      const ctx = { resources, patientRef, thresholds, prefetchNotes };
      return findings.flatMap((f) =>
        f ? [safetyCard(f, { ...ctx, alertNotRecorded: notRecorded.get(f.code) })] : [],
      );
    },
  };
}
