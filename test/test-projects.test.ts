/**
 * `npm run test:unit` must run without PostgreSQL, child processes or a browser: every test file
 * that reaches for one of them is listed in INTEGRATION (vitest.config.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INTEGRATION } from "../vitest.config.js";

/** What a file uses that the unit project does not have. */
const NEEDS = [
  /\b(alertStoreKinds|storeKinds|openTwoStoresOnOnePostgres|freshPostgresDatabase)\b/,
  /support\/postgres-cluster\.js|support\/service-process\.js/,
  /from "node:child_process"/,
  /from "playwright-core"|@axe-core\/playwright/,
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : testFiles(path);
    return e.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("test projects", () => {
  it("list in INTEGRATION every test file that needs PostgreSQL, a child process or Chromium", () => {
    const files = ["src", "cds-services", "fixtures", "test"].flatMap(testFiles);
    const needing = files.filter((f) => {
      if (f === "test/test-projects.test.ts") return false; // names the patterns it looks for
      const text = readFileSync(f, "utf8");
      return NEEDS.some((re) => re.test(text));
    });
    expect(needing.length).toBeGreaterThan(0);
    expect(needing.filter((f) => !INTEGRATION.includes(f))).toEqual([]);
  });

  it("list only files that exist", () => {
    const files = new Set(["src", "cds-services", "fixtures", "test"].flatMap(testFiles));
    expect(INTEGRATION.filter((f) => !files.has(f))).toEqual([]);
  });
});
