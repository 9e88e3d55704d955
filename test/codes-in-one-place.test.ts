/**
 * Clinical codes (LOINC, SNOMED CT, RxNorm, ATC, ICD-10, UCUM as a code system) are written in one
 * place, src/clinical/codes.ts, each beside its public source; the FHIR readers, the services and
 * the alerts import them from there.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const FOLDERS = ["src/fhir", "src/alerts", "src/hooks", "src/http", "cds-services"];

/** A LOINC code, a SNOMED CT id, an ICD-10 pregnancy or lupus code, or a code system URL. */
const INLINE_CODE: readonly RegExp[] = [
  /["'`]\d{1,6}-\d["'`]/,
  /["'`]\d{6,18}["'`]/,
  /["'`](Z33|M32|N08)(\.\d+)?["'`]/,
  /http:\/\/(loinc\.org|snomed\.info|unitsofmeasure\.org|www\.nlm\.nih\.gov|www\.whocc\.no)/,
];

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourcesUnder(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("clinical codes live in src/clinical/codes.ts", () => {
  it("the patterns find each kind of code and pass ordinary strings", () => {
    for (const s of [
      `"718-7"`,
      `"26643006"`,
      `"Z33.1"`,
      `"M32.1"`,
      `system: "http://loinc.org"`,
      `"http://snomed.info/sct"`,
    ])
      expect(
        INLINE_CODE.some((re) => re.test(s)),
        s,
      ).toBe(true);
    for (const s of [`"Patient/p"`, `"2025-01-10"`, `"mg"`, `"1.0"`, `"urn:ln-cds:finding"`])
      expect(
        INLINE_CODE.some((re) => re.test(s)),
        s,
      ).toBe(false);
  });

  it("no FHIR reader, runtime, service or alert writes one inline", () => {
    const found = FOLDERS.flatMap(sourcesUnder).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ line, at: `${file}:${String(i + 1)}` }))
        .filter(({ line }) => INLINE_CODE.some((re) => re.test(line)))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
