import { describe, expect, it } from "vitest";
import type { DecidingValue, Finding } from "../../src/clinical/index.js";
import { cell, decidingValuesTable, fitSummary, table } from "./cards.js";

const codePoints = (s: string) => Array.from(s).length;

describe("fitSummary (CDS Hooks 2.0: summary < 140 characters)", () => {
  it("leaves a summary of 139 characters as it is", () => {
    const text = "a".repeat(139);
    expect(fitSummary(text)).toBe(text);
  });

  it("cuts a longer one at a word boundary, without a trailing separator, and marks the cut", () => {
    const agents = Array.from({ length: 12 }, (_, i) => `agent${String(i + 1)}`).join(", ");
    const text = `Refractory LN (kang2020): 12 agents failed (${agents}); proteinuria 2.6 g/24h`;
    expect(codePoints(text)).toBeGreaterThan(139);
    const fitted = fitSummary(text);
    expect(codePoints(fitted)).toBeLessThanOrEqual(139);
    expect(fitted.endsWith("…")).toBe(true);
    const kept = fitted.slice(0, -1);
    expect(text.startsWith(kept)).toBe(true);
    // The cut falls between words: the next character of the original is a separator.
    expect(text.charAt(kept.length)).toMatch(/[\s,;]/);
    expect(kept).not.toMatch(/[\s,;]$/);
  });

  it("counts code points, so characters outside the BMP are neither split nor over-counted", () => {
    const text = "血红蛋白 ".repeat(10) + "𝐇𝐛 ".repeat(40);
    const fitted = fitSummary(text);
    expect(codePoints(fitted)).toBeLessThanOrEqual(139);
    expect(fitted).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it("cuts a single long word where it must", () => {
    const fitted = fitSummary("x".repeat(300));
    expect(fitted).toBe(`${"x".repeat(138)}…`);
  });
});

describe("Markdown tables on cards", () => {
  // The former writing, kept here as the reference.
  const formerCell = (text: string | number): string =>
    String(text).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const formerTable = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
    [
      `| ${header.map(formerCell).join(" | ")} |`,
      `|${header.map(() => "---").join("|")}|`,
      ...rows.map((r) => `| ${r.map(formerCell).join(" | ")} |`),
    ].join("\n");

  it("escape a pipe and flatten a line break in a cell, and leave other cells as they are", () => {
    const cells = ["a|b", "x\ny", "x\r\ny", "x\ry", "||", "\n", "", "39 µmol/L (0.44 mg/dL)", "—"];
    for (const c of cells) expect(cell(c)).toBe(formerCell(c));
    expect(cell(12)).toBe("12");
    expect(cell("a|b\nc")).toBe("a\\|b c");
  });

  it("are written as before, for every shape of header and rows", () => {
    const shapes: [string[], string[][]][] = [
      [["value", "date", "result", "reference"], [["creatinine", "2026-01-01", "88 µmol/L", "—"]]],
      [["fact", "value"], []],
      [
        ["fact", "value"],
        [["a|b", "c\nd"], [], ["only one"]],
      ],
      [[], [[]]],
      [["x"], [["1"], ["2"], ["3"]]],
    ];
    for (const [header, rows] of shapes)
      expect(table(header, rows)).toBe(formerTable(header, rows));
    expect(() => table(["a", "b", "c", "d", "e"], [])).toThrow(/at most four columns/);
  });
});

describe("the table of deciding values", () => {
  const finding = (decidingValues: DecidingValue[]): Finding => ({
    code: "anemia",
    indicator: "info",
    decidingValues,
    evidence: [],
    notes: [],
    summary: "s",
  });
  const at = "2026-03-04T10:00:00.000Z";

  it("shows each value's date, result and reference range, a unit escaped as any cell is", () => {
    const table = decidingValuesTable(
      finding([
        {
          label: "creatinine",
          kind: "creatinine",
          value: 38.9851,
          unit: "umol/L",
          time: at,
          ref: "Observation/c",
          referenceRange: { low: 44, high: 97 },
          original: { value: 0.441, unit: "mg/dL" },
        },
        { label: "ALT", kind: "alt", value: 41, unit: "U|L", time: at, ref: "Observation/a" },
        {
          label: "odd | label",
          kind: "albumin",
          value: 31.25,
          unit: "g\r\n/L",
          time: at,
          ref: "Observation/b",
          referenceRange: { high: 50 },
        },
        {
          label: "hemoglobin",
          kind: "hemoglobin",
          value: 80,
          unit: "g/L",
          time: at,
          ref: "Observation/h",
          referenceRange: { low: 120 },
        },
      ]),
    );
    expect(table.split("\n")).toEqual([
      "| value | date | result | reference |",
      "|---|---|---|---|",
      "| creatinine | 2026-03-04 | 39 µmol/L (0.44 mg/dL) | 44–97 |",
      "| ALT | 2026-03-04 | 41 U\\|L | — |",
      "| odd \\| label | 2026-03-04 | 31.3 g /L | ≤ 50 |",
      "| hemoglobin | 2026-03-04 | 80 g/L | ≥ 120 |",
    ]);
    expect(decidingValuesTable(finding([]))).toBe("");
  });
});
