import { describe, expect, it } from "vitest";
import { anyCodeOf } from "./search.js";

describe("anyCodeOf", () => {
  it("joins system|code tokens with commas, in the order given, from any iterable", () => {
    expect(anyCodeOf("http://loinc.org", ["718-7", "1742-6"])).toBe(
      "http://loinc.org|718-7,http://loinc.org|1742-6",
    );
    expect(anyCodeOf("http://loinc.org", new Map([["2889-4", 1]]).keys())).toBe(
      "http://loinc.org|2889-4",
    );
  });

  it("gives an empty value for no codes", () => {
    expect(anyCodeOf("http://loinc.org", [])).toBe("");
  });
});
