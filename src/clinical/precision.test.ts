import { describe, expect, it } from "vitest";
import { displayNumber, displayValue, roundForDisplay, significantDigits } from "./precision.js";
import { seeded } from "../../test/support/seeded.js";

describe("values at the precision a lab reports them (docs/clinical-rules.md#9-cards)", () => {
  it("creatinine sent as 0.441 mg/dL is 39 µmol/L beside the mg/dL at 2 decimals, never 38.9851", () => {
    const v = {
      kind: "creatinine" as const,
      value: 38.9851,
      unit: "umol/L",
      original: { value: 0.441, unit: "mg/dL" },
    };
    expect(displayValue(v)).toBe("39 µmol/L (0.44 mg/dL)");
  });

  it("proteinuria keeps at most 2 decimals and never more digits than its source", () => {
    const p = (value: number, original: number, unit: string) =>
      displayNumber({
        kind: "protein24h",
        value,
        unit: "g/(24.h)",
        original: { value: original, unit },
      });
    expect(p(5.17, 5170, "mg/(24.h)")).toBe("5.17");
    expect(p(1.6, 1.6, "g/(24.h)")).toBe("1.6");
    expect(p(1.6, 1600, "mg/(24.h)")).toBe("1.6");
    expect(p(0.123456, 0.123456, "g/(24.h)")).toBe("0.12");
    // UPCR 34.5 mg/mmol is 0.30498… g/g: 2 decimals.
    expect(
      displayNumber({
        kind: "upcr",
        value: 34.5 / 113.12,
        unit: "g/g",
        original: { value: 34.5, unit: "mg/mmol" },
      }),
    ).toBe("0.3");
  });

  it("Hb, ALT and eGFR are integers; a count per field has no space before its unit", () => {
    expect(displayValue({ kind: "hemoglobin", value: 79.9, unit: "g/L" })).toBe("80 g/L");
    expect(displayValue({ kind: "alt", value: 96.4, unit: "U/L" })).toBe("96 U/L");
    expect(displayValue({ kind: "egfr", value: 104.97, unit: "mL/min/{1.73_m2}" })).toBe(
      "105 mL/min/1.73 m²",
    );
    expect(displayValue({ kind: "urineRbc", value: 6, unit: "/[HPF]" })).toBe("6/HPF");
  });

  it("counts significant digits as a lab writes them", () => {
    expect(significantDigits(0.441)).toBe(3);
    expect(significantDigits(5170)).toBe(3);
    expect(significantDigits(38.9851)).toBe(6);
    expect(significantDigits(0)).toBe(1);
  });

  it("counts as the four regular expressions it replaced did, on generated values", () => {
    // The former reading, kept here as the reference.
    const byRegex = (value: number): number => {
      if (!Number.isFinite(value) || value === 0) return 1;
      const text = Math.abs(value)
        .toPrecision(15)
        .replace(/\.?0+$/, "")
        .replace(/e.*$/, "");
      const digits = text.replace(".", "").replace(/^0+/, "");
      const trimmed = text.includes(".") ? digits : digits.replace(/0+$/, "");
      return Math.max(1, trimmed.length);
    };
    const values = [
      1,
      10,
      100,
      1200,
      1e14,
      123456789012300,
      1e15,
      1.5e20,
      1e21,
      1e-6,
      1.2e-7,
      0.001,
      0.1 + 0.2,
      1 / 3,
      -0.5,
      -1200,
      100.5,
      99.99,
      5e-324,
      Number.MAX_VALUE,
      NaN,
      Infinity,
      -Infinity,
    ];
    // A fixed sequence: every magnitude, few and many digits.
    const next = seeded(12345).float;
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 10 ** Math.floor(next() * 40 - 20);
      const decimals = Math.floor(next() * 8);
      const raw = next() * 1000 * magnitude;
      values.push(raw, Number(raw.toFixed(decimals)), Math.round(raw) * 10 ** decimals);
    }
    for (const v of values) expect([v, significantDigits(v)]).toEqual([v, byRegex(v)]);
  });

  it("rounds as its former reading did (regular expressions, every significant-digit count)", () => {
    // The former reading, kept here as the reference.
    const former = (value: number, decimals: number, sig = 15): string => {
      if (!Number.isFinite(value)) return String(value);
      let v = Math.round(value * 10 ** decimals) / 10 ** decimals;
      if (v !== 0 && significantDigits(v) > sig) v = Number(v.toPrecision(sig));
      const fixed = v.toFixed(decimals);
      const text = decimals > 0 ? fixed.replace(/\.?0+$/, "") : fixed;
      return text === "-0" ? "0" : text;
    };
    const next = seeded(99).float;
    const values = [0, -0, 1e21, 1.5e22, -1e30, 0.005, 0.015, 100, 1200.5, NaN, Infinity];
    for (let i = 0; i < 20_000; i++) {
      const raw = (next() - 0.3) * 10 ** Math.floor(next() * 30 - 8);
      values.push(raw, Number(raw.toFixed(Math.floor(next() * 4))));
    }
    const differ: unknown[] = [];
    for (const v of values)
      for (const decimals of [0, 1, 2, 3])
        for (const sig of [1, 2, 3, 6, 14, 15, 16]) {
          const now = roundForDisplay(v, decimals, sig);
          if (now !== former(v, decimals, sig)) differ.push([v, decimals, sig, now]);
        }
    expect(values.length).toBeGreaterThan(40_000);
    expect(differ).toEqual([]);
  });
});
