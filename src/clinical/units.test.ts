import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CREATININE_MOLECULAR_WEIGHT } from "./codes.js";
import { convertUnit, roundClinical } from "./units.js";

describe("convertUnit (UCUM)", () => {
  it("converts creatinine mg/dL to umol/L with the molecular weight 113.12", () => {
    expect(convertUnit(1, "mg/dL", "umol/L", CREATININE_MOLECULAR_WEIGHT)).toBeCloseTo(88.4, 1);
  });

  it("returns undefined for an unknown or incompatible unit", () => {
    expect(convertUnit(1, "furlongs", "g/L")).toBeUndefined();
    expect(convertUnit(1, "U/L", "g/L")).toBeUndefined();
  });

  it("property: a value converted to another unit and back is the same within rounding", () => {
    const pairs = [
      ["g/L", "g/dL", undefined],
      ["umol/L", "mg/dL", CREATININE_MOLECULAR_WEIGHT],
      ["g/(24.h)", "mg/d", undefined],
      ["g/g", "mg/mmol", CREATININE_MOLECULAR_WEIGHT],
    ] as const;
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 10_000, noNaN: true }),
        fc.constantFrom(...pairs),
        (v, [a, b, mw]) => {
          const there = convertUnit(v, a, b, mw);
          expect(there).toBeDefined();
          const back = convertUnit(there ?? 0, b, a, mw) ?? 0;
          expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-5);
        },
      ),
    );
  });

  it("rounds away binary noise", () => {
    expect(roundClinical(0.1 + 0.2)).toBe(0.3);
  });
});
