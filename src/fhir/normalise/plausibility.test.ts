/** Plausibility bounds per fact (docs/clinical-rules.md#1-facts): outside them a value is noted, never used. */
import type { FhirResource, Observation } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab } from "../../../fixtures/build.js";
import { defaultThresholds, withOverrides } from "../../clinical/thresholds.js";
import { normalisePatient } from "./index.js";

const NOW = new Date("2025-06-01T00:00:00Z");
const patient: FhirResource = { resourceType: "Patient", id: "p", gender: "female" };

function obs(id: string, code: string, value: number, unit: string): Observation {
  return lab({ id, loinc: code, value, unit, at: "2025-01-10T08:00:00Z", patientId: "p" });
}

// [LOINC, unit, implausible values, plausible edge values]
const CASES: readonly (readonly [string, string, string, number[], number[]])[] = [
  ["hemoglobin", "718-7", "g/L", [0, 1e-320, 9.9, 251, 1e6], [10, 32, 250]],
  ["hemoglobin g/dL", "718-7", "g/dL", [0, 0.5, 30], [1, 3.2, 25]],
  ["ALT", "1742-6", "U/L", [10_001, 1e9], [0, 5, 10_000]],
  ["creatinine", "14682-9", "umol/L", [0, 4, 3001], [5, 3000]],
  ["24-h protein", "2889-4", "g/(24.h)", [50.1, 1e4], [0, 0.2, 50]],
  ["UPCR", "2890-2", "g/g", [51], [0, 49]],
  ["albumin", "1751-7", "g/L", [0, 4, 81], [5, 80]],
  ["urine RBC", "13945-1", "/[HPF]", [1001], [0, 1000]],
  ["eGFR", "98979-8", "mL/min/{1.73_m2}", [0, 251], [1, 250]],
];

describe("plausibility bounds per fact", () => {
  it.each(CASES)(
    "%s: values outside the bounds are named and not used",
    (_, code, unit, bad, good) => {
      const resources = [
        patient,
        ...bad.map((v, i) => obs(`bad-${String(i)}`, code, v, unit)),
        ...good.map((v, i) => obs(`good-${String(i)}`, code, v, unit)),
      ];
      const facts = normalisePatient(resources, NOW);
      expect(facts.labs.map((l) => l.ref).sort()).toEqual(
        good.map((_v, i) => `Observation/good-${String(i)}`).sort(),
      );
      const noted = facts.notes.filter((n) => n.reason === "absurd-value").map((n) => n.ref);
      expect(noted.sort()).toEqual(bad.map((_v, i) => `Observation/bad-${String(i)}`).sort());
      for (const n of facts.notes)
        expect(n.message).toMatch(/implausible value .*\(plausible .*\): not used/);
    },
  );

  it("every bound is a threshold with a unit and a source, which a site may change", () => {
    const names = Object.keys(defaultThresholds).filter((k) => k.startsWith("plausible"));
    expect(names).toHaveLength(18);
    for (const name of names) {
      const t = defaultThresholds[name as keyof typeof defaultThresholds];
      expect(t.unit).not.toBe("");
      expect(t.source).toBe("ln-cds");
    }
    const site = withOverrides({ plausibleHemoglobinMin: 40 });
    const facts = normalisePatient([patient, obs("hb", "718-7", 32, "g/L")], NOW, {
      thresholds: site,
    });
    expect(facts.labs).toEqual([]);
  });
});
