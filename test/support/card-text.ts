/**
 * Mechanical checks of what a clinician reads on a card (docs/clinical-rules.md#9-cards):
 * values never shown with more digits than their source, no resource id in the visible text,
 * tables of at most four columns each with a header row, no internal document named, "ALT" in
 * capitals, and a detail short enough for a narrow panel. One line per fault.
 */
import type { LabFact } from "../../src/clinical/facts.js";
import { significantDigits } from "../../src/clinical/precision.js";
import type { HookCard } from "./mini-ehr.js";

/** Longest detail a clinician should have to read in a side panel (characters). */
export const MAX_DETAIL_CHARS = 2000;

export interface CardTextContext {
  /** Every resource id of the patient's chart (visible text must name none of them). */
  readonly resourceIds: readonly string[];
  /** The patient's lab values as the rules read them (converted, with the value as reported). */
  readonly labs: readonly LabFact[];
}

/** Units a lab value is shown in on a card, with the most decimals allowed there. */
const UNIT_DECIMALS: readonly (readonly [RegExp, number])[] = [
  [/^µmol\/L/, 0],
  [/^U\/L/, 0],
  [/^mL\/min/, 0],
  [/^\/HPF/, 0],
  [/^\/LPF/, 0],
  [/^mg\/dL/, 2],
  [/^g\/24h/, 2],
  [/^g\/g/, 2],
  [/^g\/L/, 1],
];

const NUMBER_WITH_UNIT =
  /(?<![\w.])(\d+(?:\.\d+)?)\s?(µmol\/L|U\/L|mL\/min|\/HPF|\/LPF|mg\/dL|g\/24h|g\/g|g\/L)/g;

function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** The Markdown tables of a text, each as its rows of cells. */
export function markdownTables(text: string): string[][][] {
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("|")) {
      const cells = trimmed
        .replace(/^\|/, "")
        .replace(/(?<!\\)\|$/, "")
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      if (!current) {
        current = [];
        tables.push(current);
      }
      current.push(cells);
    } else current = undefined;
  }
  return tables;
}

/** The checks, by name, so a caller can tell which one a fault broke. */
export type CardTextCheck =
  | "digits"
  | "resource-ids"
  | "tables"
  | "internal-documents"
  | "alt-case"
  | "length"
  | "dated-lead";

export function cardTextViolations(
  card: HookCard,
  ctx: CardTextContext,
  skip: readonly CardTextCheck[] = [],
): string[] {
  const out: string[] = [];
  const finding = card.extension?.["ln-cds"].finding ?? card.source.topic?.code ?? "?";
  let check: CardTextCheck = "digits";
  const fault = (what: string) => {
    if (!skip.includes(check)) out.push(`${finding}: ${what}`);
  };
  const detail = card.detail ?? "";
  const visible = [
    card.summary,
    detail,
    ...(card.suggestions ?? []).flatMap((s) => [
      s.label,
      ...(s.actions ?? []).map((a) => a.description),
    ]),
    ...(card.links ?? []).map((l) => l.label),
    ...(card.overrideReasons ?? []).map((r) => r.display),
  ].join("\n");

  // 1. Numbers: a lab value never with more digits than its source had.
  for (const m of visible.matchAll(NUMBER_WITH_UNIT)) {
    const [, num = "", unit = ""] = m;
    const maxDecimals = UNIT_DECIMALS.find(([re]) => re.test(unit))?.[1] ?? 2;
    if (decimalsOf(num) > maxDecimals)
      fault(`"${num} ${unit}" has more than ${String(maxDecimals)} decimals`);
    const shown = Number(num);
    const tolerance = 0.5 * 10 ** -decimalsOf(num) + 1e-9;
    const sources = ctx.labs.filter((l) => Math.abs(l.value - shown) <= tolerance);
    if (sources.length > 0) {
      const sourceDigits = Math.max(...sources.map((l) => significantDigits(l.original.value)));
      const integerDigits = Math.trunc(shown).toString().length;
      const allowed = Math.max(sourceDigits, integerDigits);
      if (significantDigits(shown) > allowed)
        fault(`"${num} ${unit}" shows more digits than its source (${String(sourceDigits)})`);
    }
  }
  for (const m of visible.matchAll(/\d+\.\d{3,}/g)) fault(`"${m[0]}" has more than 2 decimals`);

  check = "resource-ids";
  // 2. No resource id in the visible text (they belong in extension evidence).
  for (const id of ctx.resourceIds) {
    if (id.length >= 4 && (card.summary.includes(id) || detail.includes(id)))
      fault(`names the resource id "${id}"`);
  }
  if (
    /\b(Observation|MedicationStatement|MedicationRequest|Condition|Patient)\/[\w.-]+/.test(detail)
  )
    fault("names a resource reference in the detail");

  check = "tables";
  // 3. Tables: a header row (with names), a separator, at most four columns.
  for (const t of markdownTables(detail)) {
    const [header, separator] = t;
    if (!header || header.every((c) => c === "")) fault("a table without a header row");
    else if (header.some((c) => c === ""))
      fault(`a table header with an empty cell: ${header.join(" | ")}`);
    if (!separator || !separator.every((c) => /^:?-{3,}:?$/.test(c)))
      fault("a table whose second row is not the header separator");
    const widest = Math.max(...t.map((r) => r.length));
    if (widest > 4) fault(`a table of ${String(widest)} columns`);
  }

  check = "internal-documents";
  // 4. Public sources only: no internal document named.
  if (/clinical[- ]rules|cds-contract|architecture\.md|docs\/|§\s?\d|\bissue\s#?\d/i.test(visible))
    fault("names an internal document");

  check = "alt-case";
  // 5. "ALT" in capitals.
  if (/\balt\b/.test(visible)) fault('"alt" in lower case');

  // 6. Short enough for a narrow panel, opening with dated facts.
  check = "length";
  if (detail.length > MAX_DETAIL_CHARS)
    fault(`detail of ${String(detail.length)} characters (at most ${String(MAX_DETAIL_CHARS)})`);
  check = "dated-lead";
  if (!/\d{4}-\d\d-\d\d/.test(detail.slice(0, 400)))
    fault("the detail does not open with a dated fact");
  return out;
}
