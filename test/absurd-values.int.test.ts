/**
 * Absurd clinical values through HTTP (docs/cds-contract.md#requests-and-errors): patient 4's chart as full prefetch to the
 * real iguratimod-safety service, plus hemoglobin results no lab could mean: negative, "NaN",
 * 1e308, a number sent as a string, and dates in year 0 and 9999. The answer is 200 with the
 * card the sane values give (Hb 32 g/L, critical), none of the absurd results is used or cited
 * as evidence, and the card's data-quality notes name every one of them.
 */
import type { Observation } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab } from "../fixtures/build.js";
import { studyPatientResources } from "../fixtures/index.js";
import { patient4SafetyCards } from "./support/patient4-view.js";

const NOW = new Date();

/** A hemoglobin result of patient 4; a string value is sent as it is (not valid R4). */
function hb(id: string, value: number | string, when: string): Observation {
  const spec = { id, loinc: "718-7", display: "Hemoglobin", value, unit: "g/L", at: when };
  return lab({ ...spec, patientId: "kang-04" });
}

const yesterday = new Date(NOW.getTime() - 86_400_000).toISOString();
const ABSURD: Record<string, Observation> = {
  negative: hb("absurd-negative", -5, yesterday),
  nan: hb("absurd-nan", "NaN", yesterday),
  huge: hb("absurd-huge", 1e308, yesterday),
  string: hb("absurd-string", "80", yesterday),
  year0: hb("absurd-year0", 10, "0000-06-01T00:00:00Z"),
  year9999: hb("absurd-year9999", 10, "9999-01-01T00:00:00Z"),
};

describe("absurd hemoglobin results over HTTP", () => {
  it("are ignored, never evidence, and each is named in the card's data-quality notes", async () => {
    const rs = [...studyPatientResources("kang-04", NOW), ...Object.values(ABSURD)];
    const cards = await patient4SafetyCards(rs, NOW);
    const anemia = cards.find((c) => c.summary.startsWith("Anaemia"));
    expect(anemia?.indicator).toBe("critical");
    expect(anemia?.summary).toContain("Hb 32 g/L");
    for (const o of Object.values(ABSURD)) {
      const ref = `Observation/${o.id ?? ""}`;
      expect(anemia?.extension["ln-cds"].evidence, ref).not.toContain(ref);
      // Named beside the notes, not in the visible text (docs/clinical-rules.md#9-cards).
      expect(anemia?.extension["ln-cds"].dataQuality, `${ref} is named`).toContain(ref);
      expect(anemia?.detail).not.toContain(ref);
    }
    expect(anemia?.detail).toMatch(/\*\*Data-quality notes\*\*/);
  });
});
