import { describe, expect, it } from "vitest";
import { displayNumber, displayValue, significantDigits } from "./precision.js";

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
});
