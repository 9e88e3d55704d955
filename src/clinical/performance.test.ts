import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab, medicationStatement } from "../../fixtures/build.js";
import { normalisePatient } from "../fhir/normalise.js";
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

describe("hot path", () => {
  it("a patient-view over 240 Observations normalises and evaluates every rule in a few milliseconds", () => {
    const rs = synthetic(240);
    const run = () => {
      const f = normalisePatient(rs, NOW);
      return [
        week24Response(f, NOW),
        anemiaFinding(f, NOW),
        liverFinding(f, NOW),
        monitoringOverdue(f, NOW),
        safetyAlertEvents(f, NOW),
        refractoryEligibility(f, NOW),
      ];
    };
    run(); // warm-up: UCUM factors are computed once per unit pair
    const runs = 50;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) run();
    const perView = (performance.now() - t0) / runs;
    expect(normalisePatient(rs, NOW).labs).toHaveLength(240);
    expect(perView).toBeLessThan(10);
  });
});
