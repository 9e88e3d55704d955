/**
 * The checks of a draft iguratimod order (docs/clinical-rules.md#8-ordering), for order-select and
 * order-sign: eligibility, warfarin, baseline labs, the latest Hb and ALT, a previous iguratimod
 * course, iguratimod already active, the summed dose, other immunosuppressants, pregnancy.
 */
import { IMMUNOSUPPRESSANTS, ORDERABLE_LAB_CODES, type Agent, type LabKind } from "./codes.js";
import { doseCheck, type DoseCheckFinding, type DraftOrderFacts } from "./dose.js";
import { refractoryEligibility, type EligibilityFinding } from "./eligibility.js";
import type { LabFact, MedicationCourse, PatientFacts } from "./facts.js";
import { uniqueRefs, type DecidingValue, type Finding, type Indicator } from "./findings.js";
import { previousIguratimodCourses, type PreviousIguratimodCourse } from "./iguratimod-history.js";
import { displayNumber, roundForDisplay } from "./precision.js";
import { anemiaGrade, liverGrade } from "./safety.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import {
  altUln,
  days,
  decidingValue,
  factNotes,
  hemoglobinLln,
  iso,
  labsOf,
  latest,
} from "./timeline.js";

export type { DoseCheckFinding, DraftOrderFacts } from "./dose.js";

export type OrderCheckFinding =
  | EligibilityOrderFinding
  | RecordsFinding<"warfarin-interaction">
  | BaselineLabsMissingFinding
  | DoseCheckFinding
  | ConcurrentImmunosuppressantFinding
  | PregnancyFinding
  | LabContraindicationFinding
  | PreviouslyTriedFinding
  | RecordsFinding<"duplicate-therapy">;

export interface EligibilityOrderFinding
  extends
    Omit<EligibilityFinding, "indicator">,
    Finding<
      "refractory-ln-eligible" | "refractory-ln-not-eligible" | "refractory-ln-insufficient-data"
    > {}

/** A medication record a card shows as evidence: its kind, since when, its status. */
export interface RecordShown {
  readonly ref: string;
  readonly agent: Agent;
  /** ISO instant the course started. */
  readonly since: string;
  readonly status: string;
}

export interface RecordsFinding<
  C extends "warfarin-interaction" | "duplicate-therapy" | "concurrent-immunosuppressant",
> extends Finding<C> {
  readonly records: readonly RecordShown[];
}

/** What a baseline needs before iguratimod starts (docs/clinical-rules.md#7-safety, #6-response). */
export type BaselineLab =
  | "hemoglobin"
  | "alt"
  | "creatinine"
  | "proteinuria"
  | "albumin"
  | "urineSediment";

const BASELINE_KINDS: Readonly<Record<BaselineLab, readonly LabKind[]>> = {
  hemoglobin: ["hemoglobin"],
  alt: ["alt"],
  creatinine: ["creatinine"],
  proteinuria: ["protein24h", "upcr"],
  albumin: ["albumin"],
  urineSediment: ["urineRbc", "rbcCasts"],
};

/** Labs to order, so cards can suggest ServiceRequests (LOINC code of each). */
export const BASELINE_LAB_ORDERS: Readonly<
  Record<"hemoglobin" | "alt" | "creatinine", { loinc: string; display: string }>
> = {
  hemoglobin: ORDERABLE_LAB_CODES.hemoglobin,
  alt: ORDERABLE_LAB_CODES.alt,
  creatinine: ORDERABLE_LAB_CODES.creatinine,
};

export interface BaselineLabsMissingFinding extends Finding<"baseline-labs-missing"> {
  readonly missing: readonly BaselineLab[];
}

export interface ConcurrentImmunosuppressantFinding extends RecordsFinding<"concurrent-immunosuppressant"> {
  readonly agents: readonly Agent[];
}

export interface PregnancyFinding extends Finding<"pregnancy-contraindication"> {
  readonly records: readonly {
    readonly ref: string;
    readonly source: "condition" | "observation";
    /** ISO instant: onset of the Condition, or the Observation's time. */
    readonly since: string;
  }[];
}

export interface LabContraindicationFinding extends Finding<"lab-contraindication"> {
  readonly labs: readonly {
    readonly kind: "hemoglobin" | "alt";
    readonly value: DecidingValue;
    readonly grade: number;
    readonly indicator: Indicator;
    /** The limit the grade was read against: Hb LLN or ALT ULN. */
    readonly limit: number;
    /** The value as a card shows it (docs/clinical-rules.md#9-cards). */
    readonly shown: string;
  }[];
}

export interface PreviouslyTriedFinding extends Finding<"iguratimod-previously-tried"> {
  readonly courses: readonly PreviousIguratimodCourse[];
}

function recordsOf(courses: readonly MedicationCourse[]): RecordShown[] {
  return courses.flatMap((c) =>
    c.refs.map((ref) => ({ ref, agent: c.agent, since: iso(c.start), status: c.status })),
  );
}

/** Courses of an agent that are running at `n` (started, not ended). */
function activeCourses(facts: PatientFacts, n: number, pred: (a: Agent) => boolean) {
  return facts.courses.filter(
    (c) => pred(c.agent) && c.start <= n && (c.end === undefined || c.end >= n),
  );
}

/**
 * Iguratimod already ordered or taken: a course not ended at `n`, including one that is
 * recorded to start later (an active order for a future start is still a second order).
 */
function activeIguratimod(facts: PatientFacts, n: number): MedicationCourse[] {
  return facts.courses.filter(
    (c) => c.agent === "iguratimod" && (c.end === undefined || c.end >= n),
  );
}

/**
 * All docs/clinical-rules.md#8-ordering checks for the iguratimod drafts among `drafts` (an empty list when there is none).
 * The patient-level checks are made once; the dose sums every iguratimod draft.
 */
export function iguratimodOrderChecks(
  facts: PatientFacts,
  drafts: DraftOrderFacts | readonly DraftOrderFacts[],
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): OrderCheckFinding[] {
  const all: readonly DraftOrderFacts[] = Array.isArray(drafts)
    ? drafts
    : [drafts as DraftOrderFacts];
  if (!all.some((d) => d.isIguratimod)) return [];
  const t = thresholds;
  const n = now.getTime();
  const out: OrderCheckFinding[] = [];

  const duplicate = activeIguratimod(facts, n);
  if (duplicate.length === 0) {
    const elig = refractoryEligibility(facts, now, t);
    if (elig) out.push({ ...elig, indicator: elig.verdict === "eligible" ? "info" : "warning" });
  } else {
    const records = recordsOf(duplicate);
    const since = records.map((r) => r.since).sort()[0] ?? iso(n);
    out.push({
      code: "duplicate-therapy",
      indicator: "warning",
      records,
      decidingValues: [],
      evidence: uniqueRefs(records.map((r) => r.ref)),
      notes: [],
      summary: `Iguratimod is already ${since > iso(n) ? "ordered" : "active"} (since ${since.slice(0, 10)}): this order would duplicate it`,
    });
  }

  const previous = previousIguratimodCourses(facts, now, t);
  if (previous.length > 0) out.push(previouslyTried(previous, t));

  const warfarin = activeCourses(facts, n, (a) => a === "warfarin");
  if (warfarin.length > 0) {
    const records = recordsOf(warfarin);
    const since = records.map((r) => r.since).sort()[0] ?? iso(n);
    out.push({
      code: "warfarin-interaction",
      indicator: "critical",
      records,
      decidingValues: [],
      evidence: uniqueRefs(records.map((r) => r.ref)),
      notes: [],
      summary: `Warfarin active since ${since.slice(0, 10)}: iguratimod is contraindicated with warfarin (bleeding; label)`,
    });
  }

  const lab = labContraindication(facts, t);
  if (lab) out.push(lab);

  const missingLabs = baselineLabsMissing(facts, n, t);
  if (missingLabs) out.push(missingLabs);

  const dose = doseCheck(all, t);
  if (dose) out.push(dose);

  const others = activeCourses(facts, n, (a) => IMMUNOSUPPRESSANTS.has(a));
  if (others.length > 0) {
    const agents = [...new Set(others.map((c) => c.agent))];
    const records = recordsOf(others);
    out.push({
      code: "concurrent-immunosuppressant",
      indicator: "info",
      agents,
      records,
      decidingValues: [],
      evidence: uniqueRefs(records.map((r) => r.ref)),
      notes: [],
      summary: `Still active: ${agents.join(", ")}. In kang2020 iguratimod replaced prior immunosuppressants`,
    });
  }

  const preg = activePregnancy(facts, now, t);
  if (preg.length > 0) {
    const records = facts.pregnancy
      .filter((p) => preg.includes(p.ref))
      .map((p) => ({ ref: p.ref, source: p.source, since: iso(p.time) }));
    const first = records.map((r) => r.since).sort()[0] ?? iso(n);
    out.push({
      code: "pregnancy-contraindication",
      indicator: "critical",
      records,
      decidingValues: [],
      evidence: preg,
      notes: [],
      summary: `Pregnant (recorded ${first.slice(0, 10)}): iguratimod is contraindicated in pregnancy`,
    });
  }
  return out;
}

/**
 * A lab value as the lab reports it (Hb and ALT as integers), or with one decimal when rounding
 * would move it across the grade limit that decided the card (79.9 g/L is grade 3; "80" is not).
 */
export function shownAtGrade(
  v: DecidingValue,
  grade: number,
  gradeOf: (x: number) => number,
): string {
  const shown = displayNumber(v);
  return gradeOf(Number(shown)) === grade ? shown : roundForDisplay(v.value, 1);
}

function courseDates(p: PreviousIguratimodCourse): string {
  return `${p.outcome.start.slice(0, 10)} to ${p.outcome.end?.slice(0, 10) ?? "?"}`;
}

/** "Hb 74 g/L" or "ALT 230 U/L": a grade-3 value during an earlier course. */
export function criticalValueWords(
  v: DecidingValue & { readonly grade: number },
  t: Thresholds = defaultThresholds,
): string {
  const hb = v.kind === "hemoglobin";
  // Grade 3 anaemia does not depend on the LLN (below 80 g/L).
  const shown = shownAtGrade(v, v.grade, (x) => anemiaGrade(x, 0, t));
  return `${hb ? "Hb" : "ALT"} ${hb ? shown : displayNumber(v)} ${hb ? "g/L" : "U/L"}`;
}

/** critical after an intolerance; warning after failure or relapse; info otherwise. */
function previouslyTried(
  previous: readonly PreviousIguratimodCourse[],
  t: Thresholds,
): PreviouslyTriedFinding {
  const intolerant = previous.filter((p) => p.intolerance);
  const failed = previous.filter(
    (p) => p.outcome.outcome === "failed" || p.outcome.outcome === "relapsed",
  );
  const last = previous.at(-1) as PreviousIguratimodCourse;
  const shown = intolerant.at(-1) ?? failed.at(-1) ?? last;
  const reason = shown.stopReason ? `; stopped: ${shown.stopReason}` : "";
  const summary =
    intolerant.length > 0
      ? `Iguratimod was stopped for intolerance before (${courseDates(shown)}${shown.criticalValue ? `, ${criticalValueWords(shown.criticalValue, t)}` : ""}${reason})`
      : failed.length > 0
        ? `Iguratimod tried before and ${shown.outcome.outcome} (${courseDates(shown)}${reason})`
        : `Iguratimod tried before (${courseDates(shown)}: ${shown.outcome.outcome === "too-short" ? "too short to judge" : shown.outcome.outcome}${reason})`;
  return {
    code: "iguratimod-previously-tried",
    indicator: intolerant.length > 0 ? "critical" : failed.length > 0 ? "warning" : "info",
    courses: previous,
    decidingValues: previous.flatMap((p) => [
      ...p.outcome.decidingValues,
      ...(p.criticalValue ? [p.criticalValue] : []),
    ]),
    evidence: uniqueRefs(previous.flatMap((p) => p.evidence)),
    notes: previous.flatMap((p) => p.outcome.notes),
    summary,
  };
}

/**
 * The latest hemoglobin and ALT, however old, graded by CTCAE v5.0 (docs/clinical-rules.md#7-safety):
 * Hb grade 2 (< 100 g/L) or ALT grade 2 (> 3×ULN) warning; Hb grade 3 (< 80) or ALT grade ≥ 3
 * (> 5×ULN) critical. Not yet on iguratimod, ALT is graded against the ULN (no on-drug baseline).
 */
export function labContraindication(
  facts: PatientFacts,
  t: Thresholds = defaultThresholds,
): LabContraindicationFinding | undefined {
  const labs: LabContraindicationFinding["labs"][number][] = [];
  const judge = (kind: "hemoglobin" | "alt", l: LabFact | undefined) => {
    if (!l) return;
    const limit = kind === "hemoglobin" ? hemoglobinLln(l, facts.sex, t) : altUln(l, facts.sex, t);
    const grade =
      kind === "hemoglobin"
        ? anemiaGrade(l.value, limit, t)
        : liverGrade(l.value, limit, undefined, t);
    if (grade < 2) return;
    const dv = decidingValue(kind === "hemoglobin" ? "latest hemoglobin" : "latest ALT", l);
    const gradeOf = (x: number) =>
      kind === "hemoglobin" ? anemiaGrade(x, limit, t) : liverGrade(x, limit, undefined, t);
    labs.push({
      shown: shownAtGrade(dv, grade, gradeOf),
      kind,
      value: dv.referenceRange
        ? dv
        : { ...dv, referenceRange: kind === "hemoglobin" ? { low: limit } : { high: limit } },
      grade,
      indicator: grade >= 3 ? "critical" : "warning",
      limit,
    });
  };
  judge("hemoglobin", latest(labsOf(facts, "hemoglobin")));
  judge("alt", latest(labsOf(facts, "alt")));
  if (labs.length === 0) return undefined;
  const critical = labs.some((l) => l.indicator === "critical");
  const words = labs.map((l) =>
    l.kind === "hemoglobin"
      ? `Hb ${l.shown} g/L on ${l.value.time.slice(0, 10)} (grade ${l.grade})`
      : `ALT ${l.shown} U/L on ${l.value.time.slice(0, 10)} (${Math.round((l.value.value / l.limit) * 10) / 10}× ULN, grade ${l.grade})`,
  );
  return {
    code: "lab-contraindication",
    indicator: critical ? "critical" : "warning",
    grade: Math.max(...labs.map((l) => l.grade)),
    labs,
    decidingValues: labs.map((l) => l.value),
    evidence: labs.map((l) => l.value.ref),
    notes: factNotes(facts, ["hemoglobin", "alt"]),
    summary: `${critical ? "Do not start iguratimod" : "Before iguratimod"}: ${words.join("; ")}`,
  };
}

function baselineLabsMissing(
  facts: PatientFacts,
  n: number,
  t: Thresholds,
): BaselineLabsMissingFinding | undefined {
  const from = n - days(t.orderLabLookbackDays.value);
  const missing: BaselineLab[] = [];
  const dv: DecidingValue[] = [];
  for (const [lab, kinds] of Object.entries(BASELINE_KINDS) as [BaselineLab, LabKind[]][]) {
    const recent = kinds
      .flatMap((k) => labsOf(facts, k, from, n))
      .sort((a, b) => a.time - b.time)
      .at(-1);
    if (recent) dv.push(decidingValue(`recent ${BASELINE_WORDS[lab]}`, recent));
    else missing.push(lab);
  }
  if (missing.length === 0) return undefined;
  return {
    code: "baseline-labs-missing",
    indicator: "warning",
    missing,
    decidingValues: dv,
    evidence: dv.map((d) => d.ref),
    notes: factNotes(facts, Object.values(BASELINE_KINDS).flat()),
    summary: `No ${missing.map((m) => BASELINE_WORDS[m]).join(", ")} in the last ${t.orderLabLookbackDays.value} days before starting iguratimod`,
  };
}

export const BASELINE_WORDS: Readonly<Record<BaselineLab, string>> = {
  hemoglobin: "hemoglobin",
  alt: "ALT",
  creatinine: "creatinine",
  proteinuria: "proteinuria",
  albumin: "albumin",
  urineSediment: "urine sediment",
};

/**
 * Refs that make a pregnancy active at `now`: a pregnancy Condition without abatement before now, or
 * the latest LOINC 82810-3 status saying pregnant (within 280 days) with no later "not pregnant".
 */
export function activePregnancy(
  facts: PatientFacts,
  now: Date,
  t: Thresholds = defaultThresholds,
): string[] {
  const n = now.getTime();
  const refs: string[] = [];
  for (const p of facts.pregnancy) {
    if (p.source === "condition" && p.pregnant && p.time <= n && (p.end === undefined || p.end > n))
      refs.push(p.ref);
  }
  const obs = facts.pregnancy.filter((p) => p.source === "observation" && p.time <= n);
  const last = obs.at(-1);
  if (last?.pregnant && n - last.time <= days(t.pregnancyObservationValidDays.value))
    refs.push(last.ref);
  return refs;
}
