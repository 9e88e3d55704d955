import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { settingDocs } from "./config.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("its configuration table lists every setting of src/config.ts with its documentation", () => {
    // Prettier pads the table's cells, so match a row by its cells, not its exact spacing.
    const rows = readme
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()));
    const missing = settingDocs.filter(
      (s) =>
        !rows.some(
          (cells) => cells[1] === `\`${s.name}\`` && cells[3] === s.doc.replace(/\|/g, "\\|"),
        ),
    );
    expect(missing.map((s) => s.name)).toEqual([]);
  });

  it("names the two commands", () => {
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm test");
  });
});
