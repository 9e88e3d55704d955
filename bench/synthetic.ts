/**
 * The benchmark's patient: three years of monthly labs over every kind the rules read (≥ 200
 * Observations), a lupus nephritis diagnosis, and 12 medication resources (prior
 * immunosuppressants, iguratimod for the last ten months, other drugs the rules skip).
 */
import type {
  Condition,
  FhirResource,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
} from "fhir/r4.js";

import { DAY_MS as DAY, RXNORM, labObservation } from "../fixtures/fhir.js";

/** [LOINC, display, UCUM, value at month m (0 = oldest)] */
const LABS: readonly (readonly [string, string, string, (m: number) => number])[] = [
  [
    "2889-4",
    "Protein [Mass/time] in 24 hour Urine",
    "g/(24.h)",
    (m) => (m < 26 ? 3.4 : 1.2 - (m - 26) * 0.05),
  ],
  ["2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", (m) => 0.9 + (m % 3) * 0.05],
  ["1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", (m) => (m < 26 ? 2.8 : 3.6)],
  ["718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", (m) => 12.4 - (m % 4) * 0.1],
  [
    "1742-6",
    "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "U/L",
    (m) => 22 + (m % 5),
  ],
  [
    "13945-1",
    "Erythrocytes [#/area] in Urine sediment by Microscopy high power field",
    "/[HPF]",
    (m) => (m < 26 ? 12 : 3),
  ],
];

export const SYNTHETIC_PATIENT_ID = "bench-1";

export function syntheticPatient(now: Date): FhirResource[] {
  const id = SYNTHETIC_PATIENT_ID;
  const subject = { reference: `Patient/${id}` };
  const t = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY).toISOString();
  const patient: Patient = {
    resourceType: "Patient",
    id,
    gender: "female",
    birthDate: "1990-04-02",
    name: [{ family: "Bench", given: ["Synthetic"] }],
  };
  const condition: Condition = {
    resourceType: "Condition",
    id: `${id}-ln`,
    clinicalStatus: {
      coding: [
        { system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" },
      ],
    },
    code: {
      coding: [{ system: "http://snomed.info/sct", code: "68815009", display: "Lupus nephritis" }],
    },
    subject,
    onsetDateTime: t(1500),
  };
  const observations: Observation[] = [];
  for (let m = 0; m < 37; m++) {
    const daysAgo = (36 - m) * 30 + 3;
    for (const [code, display, unit, value] of LABS) {
      observations.push(
        labObservation({
          id: `${id}-${code}-${String(m).padStart(2, "0")}`,
          patientId: id,
          loinc: code,
          display,
          effectiveDateTime: t(daysAgo),
          value: Math.round(value(m) * 100) / 100,
          unit,
        }),
      );
    }
  }
  const statement = (
    key: string,
    rx: [string, string] | undefined,
    text: string,
    startAgo: number,
    endAgo?: number,
  ): MedicationStatement => ({
    resourceType: "MedicationStatement",
    id: `${id}-${key}`,
    status: endAgo === undefined ? "active" : "completed",
    medicationCodeableConcept: {
      ...(rx ? { coding: [{ system: RXNORM, code: rx[0], display: rx[1] }] } : {}),
      text,
    },
    subject,
    effectivePeriod: { start: t(startAgo), ...(endAgo !== undefined ? { end: t(endAgo) } : {}) },
  });
  const request = (
    key: string,
    text: string,
    startAgo: number,
    status: MedicationRequest["status"],
  ): MedicationRequest => ({
    resourceType: "MedicationRequest",
    id: `${id}-${key}`,
    status,
    intent: "order",
    medicationCodeableConcept: { text },
    subject,
    authoredOn: t(startAgo),
    dispenseRequest: { validityPeriod: { start: t(startAgo) } },
  });
  const meds: FhirResource[] = [
    statement("cyc", ["3002", "cyclophosphamide"], "cyclophosphamide", 1090, 880),
    statement("mmf", ["68149", "mycophenolate mofetil"], "mycophenolate mofetil", 870, 620),
    statement("tac", ["42316", "tacrolimus"], "tacrolimus", 610, 320),
    statement("iguratimod", undefined, "iguratimod 25 mg twice daily", 300),
    statement("pred", ["8640", "prednisone"], "prednisone", 1090),
    statement("hcq", ["5521", "hydroxychloroquine"], "hydroxychloroquine", 1090),
    statement("losartan", ["52175", "losartan"], "losartan", 800),
    request("iguratimod-rx", "iguratimod 25 mg tablet", 300, "active"),
    request("pred-rx", "prednisone 10 mg tablet", 400, "active"),
    request("hcq-rx", "hydroxychloroquine 200 mg tablet", 500, "active"),
    request("tac-rx", "tacrolimus 1 mg capsule", 610, "completed"),
    request("mmf-rx", "mycophenolate mofetil 500 mg tablet", 870, "completed"),
  ];
  return [patient, condition, ...observations, ...meds];
}
