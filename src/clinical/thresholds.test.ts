import { describe, expect, it } from "vitest";
import { defaultThresholds, withOverrides } from "./thresholds.js";

describe("site thresholds", () => {
  it("replace only the named values, keep their unit and say the source is the site", () => {
    const t = withOverrides({ altStopAtLeast: 120 });
    expect(t.altStopAtLeast).toEqual({ value: 120, unit: "U/L", source: "site" });
    expect(t.anemiaGrade3Below).toBe(defaultThresholds.anemiaGrade3Below);
    expect(defaultThresholds.altStopAtLeast.value).toBe(100);
  });
});
