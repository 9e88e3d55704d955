import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab, medicationStatement } from "../../fixtures/build.js";
import { normalisePatient } from "../fhir/normalise/index.js";
import { refractoryEligibility } from "./eligibility.js";
import { week24Response } from "./response.js";
import { anemiaFinding, liverFinding, monitoringOverdue, safetyAlertEvents } from "./safety.js";

const NOW = new Date("2026-01-15T00:00:00Z");
const START = Date.parse("2025-01-01T00:00:00Z");

function synthetic(observations: number): FhirResource[] {
  const codes = [
    ["2889-4", "mg/(24.h)", 1500],
    ["2160-0", "mg/dL", 0.8],
    ["1751-7", "g/dL", 3.6],
    ["718-7", "g/dL", 12.1],
    ["1742-6", "U/L", 25],
    ["13945-1", "/[HPF]", 3],
    ["14682-9", "umol/L", 70],
    ["2890-2", "mg/g", 900],
  ] as const;
  const out: FhirResource[] = [
    { resourceType: "Patient", id: "perf", gender: "female", birthDate: "1990-01-01" },
    {
      resourceType: "Condition",
      id: "ln",
      subject: { reference: "Patient/perf" },
      code: { text: "Lupus nephritis" },
    },
    medicationStatement({ id: "igu", patientId: "perf", start: "2025-01-01" }),
  ];
  for (let i = 0; i < observations; i++) {
    const [code, unit, value] = codes[i % codes.length] ?? codes[0];
    out.push(
      lab({
        id: `o${i}`,
        patientId: "perf",
        loinc: code,
        at: new Date(START + (i - 40) * 86_400_000).toISOString(),
        value,
        unit,
      }),
    );
  }
  return out;
}

// How fast this runs is measured by `npm run bench` (throughput against a bare-express floor in
// the same run), not asserted here: a shared, noisy machine makes a wall-clock bound flaky.
describe("hot path over three years of labs", () => {
  it("normalises all 240 Observations and every rule gives the same verdict on a second run", () => {
    const rs = synthetic(240);
    const run = () => {
      const f = normalisePatient(rs, NOW);
      return {
        labs: f.labs.length,
        verdicts: [
          week24Response(f, NOW),
          anemiaFinding(f, NOW),
          liverFinding(f, NOW),
          monitoringOverdue(f, NOW),
          safetyAlertEvents(f, NOW),
          refractoryEligibility(f, NOW),
        ],
      };
    };
    const first = run();
    expect(first.labs).toBe(240);
    // The second run reuses UCUM factors cached by the first: the cache must not change a verdict.
    expect(run()).toEqual(first);
  });
});
