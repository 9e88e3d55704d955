/**
 * Safety-alert seam shared by the iguratimod-safety CDS service (patient-view) and the
 * background monitor: both raise through the same sink so an alert is recorded once
 * (contract: "Safety-team alerts").
 */

/** A measured quantity as it appeared on the triggering Observation (value in the rule's unit). */
export interface AlertQuantity {
  value: number;
  unit: string;
}

/** One safety event ready to be raised (CTCAE v5.0 grade, kang2020 safety monitoring). */
export interface SafetyAlertInput {
  rule: "anemia" | "liver-injury";
  severity: "warning" | "critical";
  grade: number;
  /** FHIR reference, e.g. "Patient/kang-04". */
  patient: string;
  /** FHIR reference of the triggering Observation, e.g. "Observation/kang-04-hb-w12". */
  observation: string;
  value: AlertQuantity;
  baseline?: AlertQuantity;
  /** Observation effective instant/date (ISO 8601). */
  effective: string;
  /** "resolved" when a later value of the same kind is below the alert's level (contract). */
  status?: "current" | "resolved";
  /** The latest value of the same kind, as the rules read it. */
  latest?: AlertQuantity & { effective: string };
}

/** Where an alert came from: a clinician's patient-view or the background monitor. */
export type AlertSource = "patient-view" | "monitor";

export interface AlertSink {
  /**
   * Records alerts (and their outbox rows) once. Never throws: a failure is logged as an error and
   * the promise resolves false, so the caller can tell the clinician the safety team was not told.
   */
  raise(alerts: readonly SafetyAlertInput[], source: AlertSource): Promise<boolean>;
}
