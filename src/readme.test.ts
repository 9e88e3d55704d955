import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settingDocs } from "./config.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("its configuration table lists every setting of src/config.ts with its documentation", () => {
    const missing = settingDocs.filter(
      (s) => !readme.includes(`| \`${s.name}\` |`) || !readme.includes(s.doc.replace(/\|/g, "\\|")),
    );
    expect(missing.map((s) => s.name)).toEqual([]);
  });

  it("names the two commands", () => {
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm test");
  });
});
