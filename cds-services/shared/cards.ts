/**
 * One way to turn a clinical finding into a CDS Hooks card, for every ln-cds service
 * (docs/cds-contract.md#cards): the verdict and its key number in `summary`; in `detail` a table
 * of the deciding values, the criteria used and the data-quality notes; the source link and the
 * finding code in `source`; the finding, its evidence, criteria and grade in
 * `extension["ln-cds"]`; override reasons on warning and critical cards; the study as a link.
 */
import { randomUUID } from "node:crypto";
import type { DataQualityNote, DecidingValue, Finding, LabKind } from "../../src/clinical/index.js";
import { displayNumber, displayUnit, displayValue } from "../../src/clinical/precision.js";
import type { Card, Link, OverrideReason, Suggestion } from "../../src/hooks/schemas.js";
import type { CdsService } from "../types.js";

export const STUDY_URL = "https://doi.org/10.1186/s13075-020-02154-7";
export const STUDY_LABEL = "Kang et al. 2020: iguratimod in refractory lupus nephritis";
export const KDIGO_URL = "https://kdigo.org/guidelines/lupus-nephritis/";
export const CTCAE_URL =
  "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/docs/CTCAE_v5_Quick_Reference_8.5x11.pdf";

const OVERRIDE_SYSTEM = "urn:ln-cds:override";

/** Override reasons a clinician can pick, by the kind of card. */
export const OVERRIDE_REASONS = {
  safety: [
    { code: "already-addressed", display: "Already addressed" },
    { code: "not-drug-related", display: "Judged not related to iguratimod" },
    { code: "data-error", display: "The result is wrong or belongs to another episode" },
  ],
  order: [
    { code: "benefit-outweighs-risk", display: "Benefit outweighs the risk for this patient" },
    { code: "already-addressed", display: "Already addressed" },
    { code: "data-error", display: "The record is wrong or out of date" },
  ],
  response: [
    { code: "already-addressed", display: "Already addressed" },
    { code: "clinical-judgement", display: "Clinical assessment differs" },
    { code: "data-error", display: "The result is wrong or belongs to another episode" },
  ],
} as const satisfies Record<string, readonly { code: string; display: string }[]>;

export type OverrideKind = keyof typeof OVERRIDE_REASONS;

export interface CardOptions {
  /** `source.topic.display`: the finding in a few words. */
  readonly display: string;
  /** `source.url`: the study DOI, or the guideline that grades the finding. */
  readonly sourceUrl: string;
  /** The criteria that decided the verdict, as Markdown (a sentence, a list or a table). */
  readonly criteria: string;
  /** Replaces the rule's own summary (must stay < 140 characters). */
  readonly summary?: string;
  /** The deciding facts in a line or two, shown first (before the table of values). */
  readonly lead?: string;
  /** More Markdown sections, shown after the deciding values. */
  readonly sections?: readonly string[];
  /** Leave out the table of deciding values (the sections show them). */
  readonly noValuesTable?: boolean;
  /** Notes beyond the finding's own (e.g. about the prefetch). */
  readonly extraNotes?: readonly DataQualityNote[];
  /** References beyond the finding's evidence (e.g. the glucocorticoid orders shown). */
  readonly extraEvidence?: readonly string[];
  readonly suggestions?: readonly Suggestion[];
  /** Links beyond the study's (a guideline the card's suggestions follow). */
  readonly extraLinks?: readonly Link[];
  /** Which override reasons warning and critical cards offer. */
  readonly overrides: OverrideKind;
}

export { displayUnit };

/** Markdown table cells must not break the table. */
export function cell(text: string | number): string {
  const s = String(text);
  // Most cells hold neither: they are returned as they are, without two regular expressions.
  if (!s.includes("|") && !s.includes("\n")) return s;
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** One row of a Markdown table: "| a | b |". */
function tableRow(cells: readonly string[]): string {
  if (cells.length === 0) return "|  |";
  let line = "|";
  for (const c of cells) line += ` ${cell(c)} |`;
  return line;
}

/** A Markdown table with its header row; at most four columns (docs/clinical-rules.md#9-cards). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (header.length > 4) throw new Error("a card table has at most four columns");
  let text = `${tableRow(header)}\n|${header.map(() => "---").join("|")}|`;
  for (const r of rows) text += `\n${tableRow(r)}`;
  return text;
}

/** A two-column table of facts, each with its value (the verdict block of a card). */
const FACTS_HEADER = table(["fact", "value"], []);

export function factsTable(rows: readonly (readonly [string, string])[]): string {
  let text = FACTS_HEADER;
  for (const [fact, value] of rows) text += `\n| ${cell(fact)} | ${cell(value)} |`;
  return text;
}

function range(v: DecidingValue): string {
  const r = v.referenceRange;
  if (!r || (r.low === undefined && r.high === undefined)) return "—";
  const n = (x: number) => displayNumber({ kind: v.kind, value: x, unit: v.unit });
  if (r.low === undefined) return `≤ ${n(r.high ?? 0)}`;
  if (r.high === undefined) return `≥ ${n(r.low)}`;
  return `${n(r.low)}–${n(r.high)}`;
}

/** One deciding value as "39 µmol/L (0.44 mg/dL)". */
export function valueText(v: DecidingValue): string {
  return displayValue(v);
}

const VALUES_HEADER = table(["value", "date", "result", "reference"], []);

/**
 * The deciding values: what, when, the result with its unit, the reference range. Each row is
 * written straight into the text, as `table` writes it, without an array per row.
 */
export function decidingValuesTable(finding: Finding): string {
  if (finding.decidingValues.length === 0) return "";
  let text = VALUES_HEADER;
  for (const v of finding.decidingValues) {
    // A result is numbers, words of ours and its unit, a range numbers and words of ours: only
    // the unit can hold what `cell` replaces. Left as they are, they are not read once more.
    const result = cell(v.unit) === v.unit ? valueText(v) : cell(valueText(v));
    text += `\n| ${cell(v.label)} | ${cell(v.time.slice(0, 10))} | ${result} | ${range(v)} |`;
  }
  return text;
}

/**
 * Data-quality notes in words; the resources they concern are not named in the visible text
 * (docs/clinical-rules.md#9-cards) but listed in `extension["ln-cds"].dataQuality`.
 */
export function notesSection(notes: readonly DataQualityNote[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const n of notes) {
    const line = `- ${n.kind ? `${KIND_WORDS[n.kind]}: ` : ""}${n.message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return lines.length === 0 ? "" : `**Data-quality notes**\n\n${lines.join("\n")}`;
}

const KIND_WORDS: Readonly<Record<LabKind, string>> = {
  protein24h: "24-h urine protein",
  upcr: "UPCR",
  creatinine: "creatinine",
  albumin: "albumin",
  hemoglobin: "hemoglobin",
  alt: "ALT",
  urineRbc: "urine RBC",
  rbcCasts: "urine RBC casts",
  egfr: "eGFR",
};

const REFERENCE = /^[A-Za-z]+\/[^/\s]+$/;

/**
 * The "Type/id" references of `lists`, each once, in their order: a draft without an id has no
 * reference to give.
 */
function evidenceOf(...lists: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const list of lists) {
    for (const r of list) {
      if (seen.has(r)) continue;
      seen.add(r);
      if (REFERENCE.test(r)) out.push(r);
    }
  }
  return out;
}

/** CDS Hooks 2.0: a summary has fewer than 140 characters. */
const SUMMARY_MAX_CHARS = 139;

/**
 * The summary as given when it fits; otherwise cut at a word boundary and marked with "…", so a
 * long list (of agents, say) never ends in half a word. Counted in code points, as the check is.
 */
export function fitSummary(text: string): string {
  // No more UTF-16 units than the limit: no more characters either.
  if (text.length <= SUMMARY_MAX_CHARS) return text;
  const chars = Array.from(text);
  if (chars.length <= SUMMARY_MAX_CHARS) return text;
  const head = chars.slice(0, SUMMARY_MAX_CHARS - 1).join("");
  const space = head.lastIndexOf(" ");
  const cut = space >= SUMMARY_MAX_CHARS / 2 ? head.slice(0, space) : head;
  return `${cut.replace(/[\s,;:(–-]+$/u, "")}…`;
}

/** The fields of `o` that have a value, in their order. */
function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in o) if (Object.hasOwn(o, key) && o[key] !== undefined) out[key] = o[key];
  return out;
}

/** `text` and `part` as paragraphs: an empty part adds nothing, and nothing comes before the first. */
const paragraph = (text: string, part: string): string =>
  part === "" ? text : text === "" ? part : `${text}\n\n${part}`;

export function findingCard(finding: Finding, o: CardOptions): Card {
  const summary = fitSummary(o.summary ?? finding.summary);
  const notes =
    o.extraNotes === undefined || o.extraNotes.length === 0
      ? finding.notes
      : [...finding.notes, ...o.extraNotes];
  let detail = o.lead ?? "";
  if (!o.noValuesTable) detail = paragraph(detail, decidingValuesTable(finding));
  if (o.sections) for (const section of o.sections) detail = paragraph(detail, section);
  if (finding.grade !== undefined)
    detail = paragraph(detail, `CTCAE v5.0 grade **${finding.grade}**.`);
  detail = paragraph(detail, `**Criteria**\n\n${o.criteria}`);
  detail = paragraph(detail, notesSection(notes));
  const evidence =
    o.extraEvidence === undefined
      ? evidenceOf(finding.evidence)
      : evidenceOf(finding.evidence, o.extraEvidence);
  // The resources the notes speak of, each once.
  const dataQuality: string[] = [];
  if (notes.length > 0) {
    const seen = new Set<string>();
    for (const n of notes) {
      if (!n.ref || seen.has(n.ref) || !REFERENCE.test(n.ref)) continue;
      seen.add(n.ref);
      dataQuality.push(n.ref);
    }
  }
  const criteria = finding.criteria ? definedOnly(finding.criteria) : undefined;
  // Built field by field in the order the answer names them (the JSON keeps it), without a
  // spread object per optional field.
  const card: Card = {
    uuid: randomUUID(),
    summary,
    indicator: finding.indicator,
    detail,
    source: {
      label: "ln-cds",
      url: o.sourceUrl,
      topic: { system: "urn:ln-cds:finding", code: finding.code, display: o.display },
    },
  };
  if (o.suggestions && o.suggestions.length > 0) {
    card.suggestions = [...o.suggestions];
    card.selectionBehavior = "any";
  }
  if (finding.indicator !== "info") {
    card.overrideReasons = OVERRIDE_REASONS[o.overrides].map(
      (r): OverrideReason => ({ code: r.code, display: r.display, system: OVERRIDE_SYSTEM }),
    );
  }
  const study: Link = { label: STUDY_LABEL, url: STUDY_URL, type: "absolute" };
  card.links = o.extraLinks && o.extraLinks.length > 0 ? [study, ...o.extraLinks] : [study];
  const ext: Record<string, unknown> = { finding: finding.code };
  if (evidence.length > 0) ext.evidence = evidence;
  if (criteria && Object.keys(criteria).length > 0) ext.criteria = criteria;
  if (finding.grade !== undefined) ext.grade = finding.grade;
  // The resources the data-quality notes speak of (not named in the visible text).
  if (dataQuality.length > 0) ext.dataQuality = dataQuality;
  card.extension = { "ln-cds": ext };
  return card;
}

export const COURSE_APP_LABEL = "Iguratimod course (SMART app)";

/**
 * The service with a SMART link on each card it returns: the course app (`/app/` of this
 * service), its `appContext` naming the card's finding, so the EHR launches the app on it
 * (docs/cds-contract.md#cards).
 */
export function withCourseAppLink(service: CdsService, appUrl: string): CdsService {
  return {
    ...service,
    evaluate(input) {
      const evaluation = service.evaluate(input);
      const cards = evaluation.cards.map((card) => {
        const finding = card.source.topic?.code;
        if (finding === undefined) return card;
        const link = {
          label: COURSE_APP_LABEL,
          url: appUrl,
          type: "smart" as const,
          appContext: JSON.stringify({ finding }),
        };
        return { ...card, links: [...(card.links ?? []), link] };
      });
      return evaluation.alerts === undefined ? { cards } : { cards, alerts: evaluation.alerts };
    },
  };
}
