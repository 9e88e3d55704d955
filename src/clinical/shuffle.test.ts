import fc from "fast-check";
import type { FhirResource, Observation } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab, medicationStatement } from "../../fixtures/build.js";
import { normalisePatient } from "../fhir/normalise/index.js";
import { refractoryEligibility } from "./eligibility.js";
import { week24Response } from "./response.js";
import { anemiaFinding, liverFinding, monitoringOverdue, safetyAlertEvents } from "./safety.js";

const DAY = 86_400_000;
const D0 = Date.parse("2025-01-06T00:00:00Z");
const NOW = new Date(D0 + 250 * DAY);
let n = 0;
const obs = (code: string, day: number, value: number, unit: string): Observation =>
  lab({
    id: `s${++n}`,
    patientId: "s",
    loinc: code,
    at: new Date(D0 + day * DAY).toISOString(),
    value,
    unit,
  });

const resources: FhirResource[] = [
  { resourceType: "Patient", id: "s", gender: "female", birthDate: "1980-03-01" },
  {
    resourceType: "Condition",
    id: "ln",
    code: { text: "Lupus nephritis class IV" },
    subject: { reference: "Patient/s" },
  },
  medicationStatement({
    id: "igu",
    patientId: "s",
    medication: "Iguratimod 25 mg",
    start: new Date(D0).toISOString(),
  }),
  obs("2889-4", -3, 3200, "mg/(24.h)"),
  obs("2889-4", 56, 2.1, "g/(24.h)"),
  obs("2889-4", 168, 1.2, "g/(24.h)"),
  obs("2890-2", 168, 1100, "mg/g"),
  obs("2889-4", 168, 1.1, "g/(24.h)"), // same day as another: tie broken by reference, never by order
  obs("2160-0", -3, 0.8, "mg/dL"),
  obs("14682-9", 168, 75, "umol/L"),
  obs("1751-7", 168, 3.4, "g/dL"),
  obs("718-7", -10, 12.6, "g/dL"),
  obs("718-7", 49, 98, "g/L"),
  obs("718-7", 240, 101, "g/L"),
  obs("1742-6", -10, 22, "U/L"),
  obs("1742-6", 90, 130, "U/L"),
  obs("1742-6", 104, 35, "U/L"),
  obs("13945-1", 168, 2, "/[HPF]"),
];

const findings = (rs: FhirResource[]) => {
  const f = normalisePatient(rs, NOW);
  return JSON.stringify([
    week24Response(f, NOW),
    anemiaFinding(f, NOW),
    liverFinding(f, NOW),
    monitoringOverdue(f, NOW),
    safetyAlertEvents(f, NOW),
    refractoryEligibility(f, new Date(D0)),
  ]);
};

describe("findings do not depend on resource order", () => {
  it("property: shuffling the Observations never changes a finding", () => {
    const expected = findings(resources);
    expect(expected).toContain("week24-partial-response");
    fc.assert(
      fc.property(
        fc.shuffledSubarray(resources, {
          minLength: resources.length,
          maxLength: resources.length,
        }),
        (rs) => {
          expect(findings(rs)).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
