import { describe, expect, it } from "vitest";
import { egfrCkdEpi2021 } from "./egfr.js";

describe("egfrCkdEpi2021 (race-free CKD-EPI 2021)", () => {
  it.each([
    [0.7, 50, "female", 105.3],
    [1.0, 50, "female", 68.6],
    [2.0, 35, "female", 32.8],
    [0.9, 50, "male", 104.0],
    [1.2, 60, "male", 69.2],
  ] as const)("Scr %s mg/dL, %s y, %s gives %s", (scr, age, sex, expected) => {
    expect(egfrCkdEpi2021(scr, age, sex)).toBeCloseTo(expected, 1);
  });

  it("returns nothing for children or a non-positive creatinine", () => {
    expect(egfrCkdEpi2021(0.7, 12, "female")).toBeUndefined();
    expect(egfrCkdEpi2021(0, 40, "female")).toBeUndefined();
  });
});
