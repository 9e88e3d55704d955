import type { MedicationStatement } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { seeded } from "../../test/support/seeded.js";
import { glucocorticoidFacts } from "./glucocorticoids.js";

const NAMES = [
  "methylprednisolone",
  "prednisolone",
  "prednisone",
  "dexamethasone",
  "hydrocortisone",
] as const;

/**
 * The name rule written plainly: the concept's text and its codings' displays joined by spaces
 * and lower-cased; the first name, longest first, found in it.
 */
function plainAgent(text: string, displays: readonly string[]): string | undefined {
  const lower = [text, ...displays].join(" ").toLowerCase();
  return NAMES.find((n) => lower.includes(n));
}

/** A statement of the patient whose concept has no code the agents table knows. */
function statement(text: string, displays: readonly string[]): MedicationStatement {
  return {
    resourceType: "MedicationStatement",
    id: "s1",
    status: "active",
    subject: { reference: "Patient/p" },
    effectiveDateTime: "2026-01-01",
    medicationCodeableConcept: {
      text,
      coding: displays.map((display, i) => ({ system: "urn:x", code: `x${i}`, display })),
    },
  };
}

describe("glucocorticoidFacts: the agent by name", () => {
  it("finds the longer name first, in any case, in the text or a display", () => {
    const agent = (text: string, displays: string[] = []) =>
      glucocorticoidFacts([statement(text, displays)], "p")[0]?.agent;
    expect(agent("Methylprednisolone 4 mg")).toBe("methylprednisolone");
    expect(agent("PREDNISOLONE")).toBe("prednisolone");
    expect(agent("tablet", ["Prednisone 5 MG Oral Tablet"])).toBe("prednisone");
    expect(agent("hydrocortisone and dexamethasone")).toBe("dexamethasone");
    expect(agent("losartan", ["amlodipine"])).toBeUndefined();
    // Lower-casing U+0130 gives an "i" and a combining dot: no name is found there.
    expect(agent("PREDNİSONE")).toBeUndefined();
  });

  it("answers as the plain rule does for generated texts", () => {
    const next = seeded(2412).below;
    const words = [...NAMES, "prednis", "dexamethason", "hydro", "cortisone", "losartan", "mg"];
    const glue = [" ", "", "-", "/", "x", "1", "(", "\u212a", "İ", "ſ", "s"];
    const piece = (): string => {
      const word = words[next(words.length)] as string;
      // Upper-cased, cut short or whole; sometimes a letter is swapped for a look-alike.
      const cased = next(3) === 0 ? word.toUpperCase() : word;
      const cut = next(4) === 0 ? cased.slice(0, 1 + next(cased.length)) : cased;
      if (next(5) !== 0) return cut;
      const at = next(cut.length);
      return cut.slice(0, at) + (glue[next(glue.length)] as string) + cut.slice(at + 1);
    };
    const phrase = (): string => {
      let text = "";
      const pieces = next(3);
      for (let i = 0; i < pieces; i++) text += piece() + (glue[next(glue.length)] as string);
      return text;
    };
    let matched = 0;
    for (let round = 0; round < 4000; round++) {
      const text = phrase();
      const displays = Array.from({ length: next(3) }, phrase);
      const expected = plainAgent(text, displays);
      if (expected !== undefined) matched += 1;
      const facts = glucocorticoidFacts([statement(text, displays)], "p");
      expect(facts[0]?.agent, JSON.stringify([text, displays])).toBe(expected);
    }
    // Both outcomes are well tried.
    expect(matched).toBeGreaterThan(800);
    expect(matched).toBeLessThan(3200);
  });
});
