/**
 * A resource field of the wrong JSON type over HTTP (docs/clinical-rules.md#1-facts,
 * docs/cds-contract.md#requests-and-errors): patient 4's chart as full prefetch to the real
 * iguratimod-safety service, with one more hemoglobin result whose effectiveDateTime is a
 * number and one medication statement whose coding list holds null. The answer is 200 with the
 * critical anaemia card the rest of the chart gives; the malformed result is named in its notes,
 * never used as evidence.
 */
import type { FhirResource, Observation } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { studyPatientResources } from "../fixtures/index.js";
import { patient4SafetyCards } from "./support/patient4-view.js";

const NOW = new Date();
const HB_LOINC = "20509-6";

describe("a resource field of the wrong JSON type over HTTP", () => {
  it("answers 200 with the other cards, and notes the malformed result", async () => {
    const chart = studyPatientResources("kang-04", NOW);
    const hb = chart.find(
      (r): r is Observation =>
        r.resourceType === "Observation" && r.code.coding?.[0]?.code === HB_LOINC,
    );
    if (!hb) throw new Error("no hemoglobin result in the fixture");
    // One more hemoglobin result, whose time is a number: not a FHIR dateTime.
    const bad = { ...hb, id: "kang-04-hb-bad", effectiveDateTime: 20261201 };
    const badRef = "Observation/kang-04-hb-bad";
    const rs = [
      ...chart.map((r): FhirResource => {
        if (r.resourceType === "MedicationStatement" && r.id === "kang-04-rx02") {
          return { ...r, medicationCodeableConcept: { coding: [null] } } as unknown as FhirResource;
        }
        return r;
      }),
      bad as unknown as FhirResource,
    ];
    const cards = await patient4SafetyCards(rs, NOW);
    const anemia = cards.find((c) => c.summary.startsWith("Anaemia"));
    expect(anemia?.indicator).toBe("critical");
    expect(anemia?.summary).toContain("Hb 32 g/L");
    for (const c of cards) expect(c.extension["ln-cds"].evidence ?? []).not.toContain(badRef);
    const noted = cards.filter((c) => c.extension["ln-cds"].dataQuality?.includes(badRef));
    expect(noted.length, JSON.stringify(cards.map((c) => c.summary))).toBeGreaterThan(0);
    expect(noted[0]?.detail).toContain("hemoglobin: effective time is not a FHIR dateTime");
  });
});
