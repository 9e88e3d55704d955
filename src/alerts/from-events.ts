import type { SafetyAlertEvent } from "../clinical/safety.js";
import type { SafetyAlertInput } from "./types.js";

/** Clinical safety events (docs/clinical-rules.md#7-safety) as alert inputs for the sink. */
export function alertInputsFromEvents(events: readonly SafetyAlertEvent[]): SafetyAlertInput[] {
  return events.map((e) => ({
    rule: e.rule,
    severity: e.severity,
    grade: e.grade,
    patient: e.patient,
    observation: e.observationRef,
    value: { value: e.value.value, unit: e.value.unit },
    ...(e.baseline ? { baseline: { value: e.baseline.value, unit: e.baseline.unit } } : {}),
    effective: e.effective,
    status: e.status,
    latest: { value: e.latest.value, unit: e.latest.unit, effective: e.latest.effective },
  }));
}
