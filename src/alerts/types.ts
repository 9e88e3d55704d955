/**
 * Safety-alert seam shared by the CDS Hooks runtime (the alerts of iguratimod-safety's
 * patient-view evaluations, src/hooks/runtime.ts) and the background monitor: both raise through
 * the same sink so an alert is recorded once (docs/cds-contract.md#alerts).
 */
import type { AlertQuantity, AlertRule, AlertSeverity, AlertSource, AlertStatus } from "./wire.js";

/** The wire shapes (src/alerts/wire.ts) are the source of these. */
export type { AlertQuantity, AlertSource };

/** One safety event ready to be raised (CTCAE v5.0 grade, kang2020 safety monitoring). */
export interface SafetyAlertInput {
  rule: AlertRule;
  severity: AlertSeverity;
  grade: number;
  /** FHIR reference, e.g. "Patient/kang-04". */
  patient: string;
  /** FHIR reference of the triggering Observation, e.g. "Observation/kang-04-hb-w12". */
  observation: string;
  value: AlertQuantity;
  baseline?: AlertQuantity;
  /** Observation effective instant/date (ISO 8601). */
  effective: string;
  /** "resolved" when a later value of the same kind is below the alert's level (docs/cds-contract.md#alerts). */
  status?: AlertStatus;
  /** The latest value of the same kind, as the rules read it. */
  latest?: AlertQuantity & { effective: string };
}

/**
 * What became of raised alerts: "recorded" in the store (delivery follows); "queued" in the
 * local spool because the store failed, recorded and delivered once it is back; "failed": neither,
 * so the safety team will not hear of them from ln-cds (docs/cds-contract.md#alerts).
 */
export type AlertRaiseOutcome = "recorded" | "queued" | "failed";

export interface AlertSink {
  /**
   * Records alerts (and their outbox rows) once. Never throws: the caller tells the clinician
   * when the outcome is not "recorded" (the alert waits, or was lost).
   */
  raise(alerts: readonly SafetyAlertInput[], source: AlertSource): Promise<AlertRaiseOutcome>;
}
