/**
 * The dose of the iguratimod drafts (docs/clinical-rules.md#8-ordering): every dosage line is read
 * into mg per administration and administrations per day; lines that apply at the same time (the
 * same `sequence`, or none) and every iguratimod draft are summed; sequenced lines are judged one
 * step at a time. A line that cannot be read is never turned into a figure.
 */
import type { Agent } from "./codes.js";
import type { Finding, Indicator } from "./findings.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import { roundClinical } from "./units.js";

/** The amount of one administration, as sent. */
export type DoseAmount =
  | { readonly kind: "mass"; readonly value: number; readonly mgFactor: number }
  /** Tablets (`{tbl}`, `{pill}`, "tablet"); `strengthMg` from the product when it states one. */
  | { readonly kind: "tablet"; readonly value: number; readonly strengthMg?: number }
  | { readonly kind: "other"; readonly value: number; readonly unit: string };

export interface DoseTiming {
  readonly frequency: number;
  readonly period: number;
  /** Days per period unit; undefined when the unit is not one of s, min, h, d, wk, mo, a. */
  readonly periodDays?: number;
  readonly periodUnit: string;
}

/** One `dosageInstruction` as sent. */
export interface DoseLineFacts {
  readonly sequence?: number;
  /** What was sent, in words, to quote on the card. */
  readonly sent: string;
  readonly amount?: DoseAmount;
  readonly timing?: DoseTiming;
}

/** A draft order as the order rules read it (src/fhir/normalise/draft-orders.ts builds it). */
export interface DraftOrderFacts {
  readonly ref: string;
  readonly isIguratimod: boolean;
  readonly agent?: Agent;
  readonly lines: readonly DoseLineFacts[];
}

export interface JudgedDoseLine {
  /** 1-based position of the draft among the iguratimod drafts. */
  readonly draft: number;
  readonly ref: string;
  readonly sequence?: number;
  readonly sent: string;
  readonly status: "readable" | "unreadable" | "not-stated";
  /** Why the line cannot be read, or what is not stated. */
  readonly why?: string;
  readonly mgPerDose?: number;
  readonly timesPerDay?: number;
  readonly mgPerDay?: number;
  readonly tablets?: { readonly count: number; readonly strengthMg: number };
}

export type DoseStepVerdict =
  | "twice-max"
  | "above-max"
  | "unreadable"
  | "not-stated"
  | "other-regimen"
  | "first-step"
  | "study-regimen";

export interface DoseStep {
  /** 1-based; every step is 1 when no line has a `sequence`. */
  readonly step: number;
  readonly lines: readonly JudgedDoseLine[];
  /** Sum of the readable lines (a lower bound when a line is not stated). */
  readonly mgPerDay: number;
  readonly verdict: DoseStepVerdict;
}

export interface DoseCheckFinding extends Finding<"dose-check"> {
  readonly lines: readonly JudgedDoseLine[];
  readonly steps: readonly DoseStep[];
  /** The step whose verdict decided the card. */
  readonly decidingStep: DoseStep;
  readonly drafts: number;
}

const VERDICT_RANK: Readonly<Record<DoseStepVerdict, number>> = {
  "twice-max": 6,
  "above-max": 5,
  unreadable: 4,
  "other-regimen": 3,
  "not-stated": 2,
  "first-step": 1,
  "study-regimen": 0,
};

const VERDICT_INDICATOR: Readonly<Record<DoseStepVerdict, Indicator | undefined>> = {
  "twice-max": "critical",
  "above-max": "warning",
  unreadable: "warning",
  "other-regimen": "info",
  "not-stated": "info",
  "first-step": undefined,
  "study-regimen": undefined,
};

/** A figure for a card: at most 2 decimals, no trailing zeros. */
export function formatMg(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function judgeLine(line: DoseLineFacts, draft: number, ref: string, t: Thresholds): JudgedDoseLine {
  const base = {
    draft,
    ref,
    ...(line.sequence !== undefined ? { sequence: line.sequence } : {}),
    sent: line.sent,
  };
  const unreadable = (why: string): JudgedDoseLine => ({ ...base, status: "unreadable", why });
  const a = line.amount;
  if (!a) return { ...base, status: "not-stated", why: "no dose" };
  if (a.kind === "other") return unreadable(`the unit "${a.unit}" is neither a mass nor tablets`);
  if (!Number.isFinite(a.value)) return unreadable("the amount is not a finite number");
  if (a.value === 0) return unreadable("the amount is zero");
  if (a.value < 0) return unreadable("the amount is negative");
  if (a.kind === "tablet" && a.strengthMg === undefined)
    return unreadable("tablets of a product whose strength is not stated");
  const ceiling = t.iguratimodDoseReadableAtMostMg.value;
  const mgPerDose = roundClinical(
    a.kind === "tablet" ? a.value * (a.strengthMg ?? Number.NaN) : a.value * a.mgFactor,
  );
  if (!Number.isFinite(mgPerDose) || mgPerDose > ceiling)
    return unreadable(`the amount is beyond any possible dose (over ${formatMg(ceiling)} mg)`);
  const tablets =
    a.kind === "tablet" && a.strengthMg !== undefined
      ? { tablets: { count: a.value, strengthMg: a.strengthMg } }
      : {};
  const tm = line.timing;
  if (!tm) return { ...base, status: "not-stated", why: "how often", mgPerDose, ...tablets };
  if (!Number.isFinite(tm.frequency) || tm.frequency <= 0)
    return unreadable(
      `the frequency is ${Number.isFinite(tm.frequency) ? "not positive" : "not a finite number"}`,
    );
  if (!Number.isFinite(tm.period) || tm.period <= 0)
    return unreadable(
      `the period is ${tm.period === 0 ? "0" : Number.isFinite(tm.period) ? "negative" : "not a finite number"}`,
    );
  if (tm.periodDays === undefined)
    return unreadable(`the period unit "${tm.periodUnit}" is unknown`);
  const timesPerDay = roundClinical(tm.frequency / (tm.period * tm.periodDays));
  const mgPerDay = roundClinical(mgPerDose * timesPerDay);
  if (!Number.isFinite(mgPerDay) || mgPerDay > ceiling)
    return unreadable(
      `the daily amount is beyond any possible dose (over ${formatMg(ceiling)} mg)`,
    );
  return { ...base, status: "readable", mgPerDose, timesPerDay, mgPerDay, ...tablets };
}

/** Each draft's lines by step: one step when no line has a `sequence`. */
function stepsOfDraft(lines: readonly JudgedDoseLine[]): JudgedDoseLine[][] {
  const seqs = [
    ...new Set(lines.flatMap((l) => (l.sequence !== undefined ? [l.sequence] : []))),
  ].sort((a, b) => a - b);
  if (seqs.length === 0) return [[...lines]];
  return seqs.map((s) => lines.filter((l) => l.sequence === undefined || l.sequence === s));
}

function stepVerdict(
  lines: readonly JudgedDoseLine[],
  mgPerDay: number,
  t: Thresholds,
): DoseStepVerdict {
  const max = t.iguratimodMaxDailyDoseMg.value;
  if (mgPerDay >= max * t.iguratimodCriticalMultipleOfMax.value) return "twice-max";
  if (mgPerDay > max) return "above-max";
  if (lines.some((l) => l.status === "unreadable")) return "unreadable";
  if (lines.length === 0 || lines.some((l) => l.status === "not-stated")) return "not-stated";
  const dose = t.iguratimodStudyDoseMg.value;
  const allStudyDose = lines.every((l) => l.mgPerDose === dose);
  const times = roundClinical(lines.reduce((s, l) => s + (l.timesPerDay ?? 0), 0));
  if (allStudyDose && times === t.iguratimodStudyTimesPerDay.value) return "study-regimen";
  if (allStudyDose && times === t.iguratimodFirstStepTimesPerDay.value) return "first-step";
  return "other-regimen";
}

/**
 * The dose check over every iguratimod draft; undefined when nothing is to be said (the study
 * regimen, or the label's first step of 25 mg once daily, at every step).
 */
export function doseCheck(
  drafts: readonly DraftOrderFacts[],
  thresholds: Thresholds = defaultThresholds,
): DoseCheckFinding | undefined {
  const t = thresholds;
  const igu = drafts.filter((d) => d.isIguratimod);
  if (igu.length === 0) return undefined;
  const judged = igu.map((d, i) =>
    d.lines.length === 0
      ? [
          {
            draft: i + 1,
            ref: d.ref,
            sent: "no dosage",
            status: "not-stated" as const,
            why: "no dose",
          },
        ]
      : d.lines.map((l) => judgeLine(l, i + 1, d.ref, t)),
  );
  const perDraft = judged.map(stepsOfDraft);
  const stepCount = Math.max(...perDraft.map((s) => s.length));
  const steps: DoseStep[] = [];
  for (let k = 0; k < stepCount; k++) {
    // A draft with fewer steps stays at its last step while another one goes on.
    const lines = perDraft.flatMap((s) => s[Math.min(k, s.length - 1)] ?? []);
    const mgPerDay = roundClinical(
      lines.reduce(
        (s, l) => s + (l.mgPerDay ?? (l.status === "not-stated" ? (l.mgPerDose ?? 0) : 0)),
        0,
      ),
    );
    steps.push({ step: k + 1, lines, mgPerDay, verdict: stepVerdict(lines, mgPerDay, t) });
  }
  const deciding = steps.reduce((w, s) =>
    VERDICT_RANK[s.verdict] > VERDICT_RANK[w.verdict] ? s : w,
  );
  const indicator = VERDICT_INDICATOR[deciding.verdict];
  if (!indicator) return undefined;
  const lines = judged.flat();
  return {
    code: "dose-check",
    indicator,
    lines,
    steps,
    decidingStep: deciding,
    drafts: igu.length,
    decidingValues: [],
    evidence: [...new Set(igu.map((d) => d.ref))],
    notes: [],
    summary: doseSummary(deciding, steps.length, igu.length, t),
  };
}

function doseSummary(s: DoseStep, stepCount: number, drafts: number, t: Thresholds): string {
  const where = [stepCount > 1 ? `step ${s.step}` : "", drafts > 1 ? `${drafts} drafts summed` : ""]
    .filter((x) => x !== "")
    .join(", ");
  const at = where ? ` (${where})` : "";
  const max = formatMg(t.iguratimodMaxDailyDoseMg.value);
  const study = `${formatMg(t.iguratimodStudyDoseMg.value)} mg ${timesWords(t.iguratimodStudyTimesPerDay.value)}`;
  const atLeast = s.lines.some((l) => l.status !== "readable") ? "at least " : "";
  switch (s.verdict) {
    case "twice-max":
      return `Iguratimod ${atLeast}${formatMg(s.mgPerDay)} mg/day${at}: twice the label maximum of ${max} mg/day or more`;
    case "above-max":
      return `Iguratimod ${atLeast}${formatMg(s.mgPerDay)} mg/day${at} exceeds the label maximum of ${max} mg/day`;
    case "unreadable": {
      const bad = s.lines.find((l) => l.status === "unreadable");
      return `Iguratimod dose cannot be read${at}: "${bad?.sent ?? ""}"`;
    }
    case "not-stated": {
      const what = s.lines.find((l) => l.status === "not-stated")?.why ?? "no dose";
      return `Iguratimod dose not fully stated (${what})${at}; the study gave ${study}`;
    }
    case "other-regimen":
    case "first-step":
    case "study-regimen":
      return `Iguratimod ${formatMg(s.mgPerDay)} mg/day${at} differs from the study's ${study}`;
  }
}

export function timesWords(n: number): string {
  return n === 1 ? "once daily" : n === 2 ? "twice daily" : `${formatMg(n)} times a day`;
}
