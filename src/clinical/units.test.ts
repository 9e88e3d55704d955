import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CREATININE_MOLECULAR_WEIGHT } from "./codes.js";
import {
  MAX_CACHED_FACTORS,
  cachedFactorCount,
  conversionFactor,
  convertUnit,
  roundClinical,
} from "./units.js";
import { seeded } from "../../test/support/seeded.js";

describe("convertUnit (UCUM)", () => {
  it("converts creatinine mg/dL to umol/L with the molecular weight 113.12", () => {
    expect(convertUnit(1, "mg/dL", "umol/L", CREATININE_MOLECULAR_WEIGHT)).toBeCloseTo(88.4, 1);
  });

  it("remembers a bounded number of factors, however many units requests bring", () => {
    for (let i = 0; i < MAX_CACHED_FACTORS + 500; i++) {
      expect(conversionFactor(`x${String(i)}`, "g/L")).toBeUndefined();
    }
    expect(cachedFactorCount()).toBeLessThanOrEqual(MAX_CACHED_FACTORS);
    // Past the bound, factors are still right, only not remembered.
    expect(conversionFactor("mg/dL", "g/L")).toBe(0.01);
    expect(conversionFactor("kg/L", "g/L")).toBe(1000);
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

  it("gives exactly Number(x.toPrecision(6)) for lab-like values, converted values and ties", () => {
    // The plain implementation it replaced (zero, infinities and NaN pass through unchanged).
    const reference = (x: number): number =>
      x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(6));
    const values: number[] = [
      0,
      -0,
      1,
      5.17,
      1.62,
      2000 * 0.001,
      88.4 * 1.13,
      1.234565,
      1.2345650000000001,
      123456.5,
      -123456.5,
      123456,
      999999,
      -999999,
      1000000,
      1000001,
      -1234567,
      999999.5,
      9.999995,
      9.9999950000001,
      99999.95,
      1e-7,
      1e21,
      1e22,
      1e23,
      5e-324,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Infinity,
      -Infinity,
      NaN,
    ];
    // Decimal values as a lab sends them, times the factors the rules use (mg/dL ↔ µmol/L, g ↔ mg…).
    const factors = [1, 0.001, 1000, 88.42, 1 / 88.42, 10, 0.1, 1 / 113.12, 113.12, 24, 1 / 24];
    const random = seeded(42).float;
    for (let i = 0; i < 20000; i++) {
      const decimals = Math.floor(random() * 8);
      const lab = Math.round(random() * 10 ** (1 + Math.floor(random() * 6))) / 10 ** decimals;
      const factor = factors[i % factors.length] ?? 1;
      values.push(lab * factor, -lab * factor);
      values.push((random() - 0.5) * 10 ** (Math.floor(random() * 30) - 12));
    }
    const differing = values.filter((x) => !Object.is(roundClinical(x), reference(x)));
    expect(differing).toEqual([]);
  });
});
