/** Builders of PatientFacts for the rule unit tests (no FHIR JSON: the rules never see it). */
import { CANONICAL_UNIT, type Agent, type LabKind } from "./codes.js";
import {
  DAY_MS,
  type LabFact,
  type MedicationCourse,
  type PatientFacts,
  type PregnancyFact,
  type Sex,
} from "./facts.js";

export const DAY0 = Date.UTC(2024, 0, 1);
export const at = (day: number): number => DAY0 + day * DAY_MS;
export const dateAt = (day: number): Date => new Date(at(day));

let seq = 0;
export function lab(
  kind: LabKind,
  day: number,
  value: number,
  extra: Partial<LabFact> = {},
): LabFact {
  seq += 1;
  return {
    kind,
    code: "test",
    value,
    unit: CANONICAL_UNIT[kind],
    time: at(day),
    ref: `Observation/${kind}-${day}-${seq}`,
    status: "final",
    original: { value, unit: CANONICAL_UNIT[kind] },
    ...extra,
  };
}

export function course(
  agent: Agent,
  startDay: number,
  endDay?: number,
  extra: Partial<MedicationCourse> = {},
): MedicationCourse {
  return {
    agent,
    start: at(startDay),
    ...(endDay !== undefined ? { end: at(endDay) } : {}),
    refs: [`MedicationStatement/${agent}-${startDay}`],
    status: endDay === undefined ? "active" : "completed",
    reasons: [],
    ...extra,
  };
}

export function makeFacts(opts: {
  labs?: LabFact[];
  courses?: MedicationCourse[];
  sex?: Sex;
  ageYears?: number;
  ln?: boolean;
  pregnancy?: PregnancyFact[];
}): PatientFacts {
  const age = opts.ageYears ?? 40;
  return {
    patientRef: "Patient/test",
    sex: opts.sex ?? "female",
    ageAt: () => age,
    labs: [...(opts.labs ?? [])].sort((a, b) => a.time - b.time || (a.ref < b.ref ? -1 : 1)),
    courses: [...(opts.courses ?? [])].sort((a, b) => a.start - b.start),
    ...(opts.ln === false ? {} : { lnDiagnosis: { ref: "Condition/ln", text: "Lupus nephritis" } }),
    pregnancy: opts.pregnancy ?? [],
    notes: [],
  };
}
