/**
 * iguratimod-safety (patient-view): anaemia, liver injury and overdue monitoring while on
 * iguratimod or within 30 days of stopping (clinical rules §7). Nothing to say → no cards.
 */
import type { FhirResource } from "fhir/r4.js";
import type { CdsService } from "../types.js";
import { normalisePatient } from "../../src/fhir/normalise.js";
import {
  anemiaFinding,
  LAB_CODES,
  liverFinding,
  monitoringOverdue,
  type Finding,
} from "../../src/clinical/index.js";
import { safetyCard } from "./cards.js";

const LOINC = "http://loinc.org";
const labCodes = [...LAB_CODES.keys()].map((c) => `${LOINC}|${c}`).join(",");

export function iguratimodSafetyService(): CdsService {
  return {
    id: "iguratimod-safety",
    hooks: ["patient-view"],
    title: "Iguratimod safety",
    description:
      "Hemoglobin and ALT on iguratimod graded by CTCAE v5.0 (anaemia, liver injury) and overdue monthly monitoring.",
    prefetch: {
      patient: "Patient/{{context.patientId}}",
      labs: `Observation?patient={{context.patientId}}&code=${labCodes}&_sort=-date&_count=1000`,
      medicationStatements: "MedicationStatement?patient={{context.patientId}}",
      medicationRequests: "MedicationRequest?patient={{context.patientId}}",
    },
    requiredPrefetch: ["patient", "labs", "medicationStatements", "medicationRequests"],
    evaluate(input) {
      const resources: FhirResource[] = Object.values(input.data.resources).flat();
      const facts = normalisePatient(resources, input.now);
      const findings = [
        anemiaFinding(facts, input.now),
        liverFinding(facts, input.now),
        monitoringOverdue(facts, input.now),
      ].filter((f): f is NonNullable<typeof f> => f !== undefined) as Finding[];
      return findings.map(safetyCard);
    },
  };
}
