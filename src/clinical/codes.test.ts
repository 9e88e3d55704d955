import { describe, expect, it } from "vitest";
import { AGENTS, recognizeAgent, type Agent } from "./codes.js";
import { seeded } from "../../test/support/seeded.js";

/**
 * The name rule as stated (docs/clinical-rules.md#2-medications), written plainly: the first
 * agent, in AGENTS' order, one of whose names is in the lower-cased text, or one of whose
 * abbreviations stands in it as a whole word (no letter a–z on either side).
 */
function plainAgentByName(text: string): Agent | undefined {
  const lower = text.toLowerCase();
  const wholeWord = (ab: string): boolean => {
    for (let at = lower.indexOf(ab); at !== -1; at = lower.indexOf(ab, at + 1)) {
      const before = lower[at - 1] ?? "";
      const after = lower[at + ab.length] ?? "";
      if (!/[a-z]/.test(before) && !/[a-z]/.test(after)) return true;
    }
    return false;
  };
  return AGENTS.find(
    (a) => a.names.some((n) => lower.includes(n)) || (a.abbreviations ?? []).some(wholeWord),
  )?.agent;
}

describe("recognizeAgent by name", () => {
  it("takes the first agent in the agents table, not the first name in the text", () => {
    expect(recognizeAgent([], "warfarin after cyclophosphamide")).toBe("cyclophosphamide");
    expect(recognizeAgent([], "Iguratimod (Careram) 25 mg")).toBe("iguratimod");
    expect(recognizeAgent([], "ケアラム錠25mg")).toBe("iguratimod");
    expect(recognizeAgent([{ display: "MMF 500 mg" }])).toBe("mycophenolate");
    expect(recognizeAgent([{ code: "IV-CYC" }])).toBe("cyclophosphamide");
    expect(recognizeAgent([], "cyclosporine")).toBe("cyclosporine");
    expect(recognizeAgent([], "cyclic")).toBeUndefined();
    expect(recognizeAgent([{ code: "8640", display: "prednisone" }], "prednisone")).toBeUndefined();
  });

  it("answers as the plain rule does for generated texts", () => {
    const next = seeded(2026).below;
    const names = AGENTS.flatMap((a) => [...a.names, ...(a.abbreviations ?? [])]);
    const others = ["prednisone", "hydroxychloroquine", "losartan", "8640", "5521", "mg", "İ"];
    const glue = [" ", "", "-", "/", "x", "1", ".", "a", "(", "\u212a"];
    const piece = (): string => {
      const pick = next(3);
      const word =
        pick === 0
          ? (others[next(others.length)] as string)
          : (names[next(names.length)] as string);
      // Upper-cased, cut short or whole, so near misses are tried as well as matches.
      const cased = next(3) === 0 ? word.toUpperCase() : word;
      return next(4) === 0 ? cased.slice(0, 1 + next(cased.length)) : cased;
    };
    let matched = 0;
    for (let round = 0; round < 4000; round++) {
      let text = "";
      const pieces = 1 + next(3);
      for (let i = 0; i < pieces; i++) text += piece() + (glue[next(glue.length)] as string);
      const expected = plainAgentByName(text);
      if (expected !== undefined) matched += 1;
      expect(recognizeAgent([], text), text).toBe(expected);
      expect(recognizeAgent([{ display: text }]), text).toBe(expected);
    }
    // Both outcomes are well tried.
    expect(matched).toBeGreaterThan(1000);
    expect(matched).toBeLessThan(3500);
  });
});
