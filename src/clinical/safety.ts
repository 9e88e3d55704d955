/**
 * Safety while on iguratimod or within 30 days after stopping: anaemia, liver, monitoring
 * (docs/clinical-rules.md#7-safety).
 */
import type { LabFact, MedicationCourse, PatientFacts, ReferenceLimits } from "./facts.js";
import type { LabKind } from "./codes.js";
import { uniqueRefs, type DecidingValue, type Finding, type Indicator } from "./findings.js";
import { currentIguratimodCourse } from "./response.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import {
  altUln,
  days,
  decidingValue,
  factNotes,
  hemoglobinLln,
  iso,
  labsOf,
  nearest,
} from "./timeline.js";
import { displayInteger, displayNumber } from "./precision.js";
import { DAY_MS } from "./facts.js";

export interface SafetyWindow {
  readonly day0: number;
  /** Course end, when stopped. */
  readonly end?: number;
  readonly courseRefs: readonly string[];
}

/** The iguratimod course the safety rules watch at `now`, or undefined when none is active (+30 days). */
export function safetyWindow(
  facts: Pick<PatientFacts, "courses">,
  now: Date,
  t: Thresholds = defaultThresholds,
): SafetyWindow | undefined {
  const c = currentIguratimodCourse(facts, now);
  if (!c) return undefined;
  const n = now.getTime();
  if (c.end !== undefined && n - c.end > days(t.safetyAfterStopDays.value)) return undefined;
  return { day0: c.start, ...(c.end !== undefined ? { end: c.end } : {}), courseRefs: c.refs };
}

/**
 * The earliest instant of a lab the safety rules can grade for these courses: the start of the
 * baseline window before day 0 of the watched course (baselineOf; every other value they grade
 * is from day 0 on). Infinity when no course is watched (no finding, no alert). For
 * normalisePatient's `labsFrom`; with `latestOfOtherKinds`, the latest older result still counts
 * for "when did any result last come" (monitoringOverdue).
 */
export function safetyLabsFrom(
  courses: readonly MedicationCourse[],
  now: Date,
  t: Thresholds = defaultThresholds,
): number {
  const w = safetyWindow({ courses }, now, t);
  return w === undefined ? Infinity : w.day0 - days(t.safetyBaselineBeforeDays.value);
}

/** CTCAE v5.0 anaemia grade: 1 LLN > Hb ≥ 100; 2 100 > Hb ≥ 80; 3 Hb < 80 (g/L). */
export function anemiaGrade(hbGL: number, lln: number, t: Thresholds = defaultThresholds): number {
  if (hbGL < t.anemiaGrade3Below.value) return 3;
  if (hbGL < t.anemiaGrade2Below.value) return 2;
  if (hbGL < lln) return 1;
  return 0;
}

/**
 * CTCAE v5.0 ALT grade. Baseline normal: > ULN–3×, > 3–5×, > 5–20×, > 20× ULN.
 * Baseline above ULN: the same multiples of the baseline, grade 1 starting at 1.5 × baseline
 * (CTCAE writes "1.5 - 3.0 x baseline" for it, the one bound there without ">").
 */
export function liverGrade(
  alt: number,
  uln: number,
  baseline: number | undefined,
  t: Thresholds = defaultThresholds,
): number {
  const elevated = baseline !== undefined && baseline > uln;
  const ref = elevated ? baseline : uln;
  if (alt > t.liverGrade4AboveMultiple.value * ref) return 4;
  if (alt > t.liverGrade3AboveMultiple.value * ref) return 3;
  if (alt > t.liverGrade2AboveMultiple.value * ref) return 2;
  if (elevated ? alt >= t.liverGrade1BaselineMultiple.value * ref : alt > ref) return 1;
  return 0;
}

export interface SafetyFinding extends Finding<"anemia" | "liver-injury"> {
  readonly grade: number;
  readonly observationRef: string;
  readonly value: { readonly value: number; readonly unit: string };
  readonly baseline?: { readonly value: number; readonly unit: string };
  /** ISO instant of the judged Observation. */
  readonly effective: string;
  /** The judged value was measured after the course stopped (the 30 days still watched). */
  readonly afterStop: boolean;
}

function baselineOf(
  facts: PatientFacts,
  kind: "hemoglobin" | "alt",
  w: SafetyWindow,
  t: Thresholds,
): LabFact | undefined {
  return nearest(
    labsOf(facts, kind),
    w.day0,
    w.day0 - days(t.safetyBaselineBeforeDays.value),
    w.day0,
  );
}

/**
 * The finding both safety rules build from the judged value and its baseline; only the grading
 * and the summary differ. A value without its own reference range shows the limit the rule used
 * (sex-specific default, docs/clinical-rules.md#1-facts), so the card never hides what it compared against.
 */
function safetyFinding(
  facts: PatientFacts,
  judged: {
    readonly code: "anemia" | "liver-injury";
    readonly label: string;
    readonly lab: LabFact;
    readonly base: LabFact | undefined;
    readonly limit: ReferenceLimits;
    readonly grade: number;
    readonly indicator: Indicator;
    readonly summary: string;
  },
  w: SafetyWindow,
): SafetyFinding {
  const { lab, base } = judged;
  const withLimit = (l: LabFact, label: string): DecidingValue => {
    const dv = decidingValue(label, l);
    return dv.referenceRange ? dv : { ...dv, referenceRange: judged.limit };
  };
  const dv: DecidingValue[] = [withLimit(lab, judged.label)];
  if (base) dv.push(withLimit(base, `baseline ${judged.label}`));
  return {
    code: judged.code,
    indicator: judged.indicator,
    grade: judged.grade,
    observationRef: lab.ref,
    value: { value: lab.value, unit: lab.unit },
    ...(base ? { baseline: { value: base.value, unit: base.unit } } : {}),
    effective: iso(lab.time),
    afterStop: measuredAfterStop(lab, w),
    decidingValues: dv,
    evidence: uniqueRefs([lab.ref, ...(base ? [base.ref] : []), ...w.courseRefs]),
    notes: factNotes(facts, [lab.kind]),
    summary: judged.summary,
  };
}

function measuredAfterStop(lab: LabFact, w: SafetyWindow): boolean {
  return w.end !== undefined && lab.time > w.end;
}

/**
 * "on iguratimod", or, for a value measured after the stop (the 30 days still watched), "after
 * iguratimod (stopped <date>)": no card says "on iguratimod" about a time after the stop.
 */
function whileOn(lab: LabFact, w: SafetyWindow): string {
  return w.end !== undefined && measuredAfterStop(lab, w)
    ? `after iguratimod (stopped ${iso(w.end).slice(0, 10)})`
    : "on iguratimod";
}

function judgeAnemia(
  facts: PatientFacts,
  hb: LabFact,
  base: LabFact | undefined,
  w: SafetyWindow,
  t: Thresholds,
): SafetyFinding | undefined {
  const lln = hemoglobinLln(hb, facts.sex, t);
  const grade = anemiaGrade(hb.value, lln, t);
  const fall = base ? base.value - hb.value : undefined;
  const bigFall = fall !== undefined && fall >= t.anemiaFallWarningAtLeast.value;
  // A grade-1 Hb within 10 g/L of its baseline is pre-existing anaemia, not a finding on
  // iguratimod (docs/clinical-rules.md#7-safety). Without a baseline it cannot be told apart.
  const preExisting = fall !== undefined && fall < t.anemiaFallInfoAtLeast.value;
  let indicator: Indicator | undefined;
  if (grade >= 3) indicator = "critical";
  else if (grade === 2 || bigFall) indicator = "warning";
  else if (grade === 1 && !preExisting) indicator = "info";
  if (!indicator) return undefined;
  const fallText =
    fall !== undefined && fall > 0
      ? `, fall ${displayInteger(fall)} g/L from baseline ${displayInteger(base?.value ?? 0)}`
      : "";
  return safetyFinding(
    facts,
    {
      code: "anemia",
      label: "hemoglobin",
      lab: hb,
      base,
      limit: { low: lln },
      grade,
      indicator,
      summary: `Anaemia ${whileOn(hb, w)}: Hb ${displayNumber(hb)} g/L on ${iso(hb.time).slice(0, 10)} (CTCAE grade ${grade}${fallText})`,
    },
    w,
  );
}

function judgeLiver(
  facts: PatientFacts,
  alt: LabFact,
  base: LabFact | undefined,
  w: SafetyWindow,
  t: Thresholds,
): SafetyFinding | undefined {
  const uln = altUln(alt, facts.sex, t);
  const grade = liverGrade(alt.value, uln, base?.value, t);
  let indicator: Indicator | undefined;
  if (grade >= 3) indicator = "critical";
  else if (
    grade === 2 ||
    alt.value >= t.altStopAtLeast.value || // Japanese label: stop
    alt.value > t.altReduceDoseAboveUlnMultiple.value * uln // Chinese label: reduce the dose
  )
    indicator = "warning";
  else if (grade === 1) indicator = "info";
  if (!indicator) return undefined;
  return safetyFinding(
    facts,
    {
      code: "liver-injury",
      label: "ALT",
      lab: alt,
      base,
      limit: { high: uln },
      grade,
      indicator,
      summary: `Liver injury ${whileOn(alt, w)}: ALT ${displayNumber(alt)} U/L on ${iso(alt.time).slice(0, 10)} (${Math.round((alt.value / uln) * 10) / 10}× ULN, CTCAE grade ${grade})`,
    },
    w,
  );
}

function sinceDay0(
  facts: PatientFacts,
  kind: "hemoglobin" | "alt",
  w: SafetyWindow,
  now: Date,
  t: Thresholds,
): LabFact[] {
  const stopWatch = w.end !== undefined ? w.end + days(t.safetyAfterStopDays.value) : Infinity;
  return labsOf(facts, kind, w.day0, Math.min(now.getTime(), stopWatch));
}

/** Judges the latest value of one safety lab against its day-0 baseline. */
type SafetyJudge = (
  facts: PatientFacts,
  latest: LabFact,
  base: LabFact | undefined,
  w: SafetyWindow,
  t: Thresholds,
) => SafetyFinding | undefined;

/** The latest value of `kind` since day 0, judged; undefined off iguratimod or with no value. */
function latestJudged(
  facts: PatientFacts,
  kind: "hemoglobin" | "alt",
  judge: SafetyJudge,
  now: Date,
  t: Thresholds,
): SafetyFinding | undefined {
  const w = safetyWindow(facts, now, t);
  if (!w) return undefined;
  const latest = sinceDay0(facts, kind, w, now, t).at(-1);
  return latest ? judge(facts, latest, baselineOf(facts, kind, w, t), w, t) : undefined;
}

/** Anaemia from the latest hemoglobin since day 0 (CTCAE v5.0); undefined when none or normal. */
export function anemiaFinding(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): SafetyFinding | undefined {
  return latestJudged(facts, "hemoglobin", judgeAnemia, now, thresholds);
}

/** Liver injury from the latest ALT since day 0 (CTCAE v5.0, labels); undefined when none or normal. */
export function liverFinding(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): SafetyFinding | undefined {
  return latestJudged(facts, "alt", judgeLiver, now, thresholds);
}

export interface MonitoringFinding extends Finding<"monitoring-overdue"> {
  readonly missing: readonly ("hemoglobin" | "alt")[];
  /** ISO instant of the last value of each, when any. */
  readonly lastHemoglobin?: string;
  readonly lastAlt?: string;
  /** Calendar days since the last value of each; undefined when none since day 0. */
  readonly hemoglobinDaysAgo?: number;
  readonly altDaysAgo?: number;
  /** The latest lab result of any kind is older than the warning limit: is the patient still seen? */
  readonly noResultsDays?: number;
}

/**
 * The kinds of lab the safety rules grade and whose notes they show (docs/clinical-rules.md#7-safety).
 * Of the other kinds they read only when the latest result came (monitoringOverdue), so a caller
 * may read only that one of them.
 */
export const SAFETY_LAB_KINDS: readonly LabKind[] = ["hemoglobin", "alt"];

/** Whole calendar days (UTC) from `t` to `now`. */
export function calendarDaysBetween(t: number, now: number): number {
  return Math.floor(now / DAY_MS) - Math.floor(t / DAY_MS);
}

/**
 * On iguratimod and no hemoglobin, or no ALT, in the last 35 days (Chinese label: monthly ALT):
 * info; a warning when the last one is more than 90 days old or none was measured since day 0
 * (kang2020 monitored every 1–3 months). Days are calendar days.
 */
export function monitoringOverdue(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): MonitoringFinding | undefined {
  const t = thresholds;
  const c = currentIguratimodCourse(facts, now);
  const n = now.getTime();
  if (!c || (c.end !== undefined && c.end < n)) return undefined;
  const lastOf = (kind: "hemoglobin" | "alt") => labsOf(facts, kind, c.start, n).at(-1);
  const lastHb = lastOf("hemoglobin");
  const lastAlt = lastOf("alt");
  const ago = (l: LabFact | undefined) => (l ? calendarDaysBetween(l.time, n) : undefined);
  const hbAgo = ago(lastHb);
  const altAgo = ago(lastAlt);
  const overdue = (d: number | undefined) => d === undefined || d > t.monitoringIntervalDays.value;
  // Nothing is overdue before 35 days on the drug (the baseline covers the start).
  const onDrugDays = calendarDaysBetween(c.start, n);
  if (onDrugDays <= t.monitoringIntervalDays.value) return undefined;
  const missing: ("hemoglobin" | "alt")[] = [];
  if (overdue(hbAgo)) missing.push("hemoglobin");
  if (overdue(altAgo)) missing.push("alt");
  if (missing.length === 0) return undefined;
  const late = (d: number | undefined) => d === undefined || d > t.monitoringWarningAfterDays.value;
  const warn =
    (missing.includes("hemoglobin") && late(hbAgo)) || (missing.includes("alt") && late(altAgo));
  const dv: DecidingValue[] = [];
  if (lastHb) dv.push(decidingValue("last hemoglobin", lastHb));
  if (lastAlt) dv.push(decidingValue("last ALT", lastAlt));
  const anyLast = facts.labs.filter((l) => l.time <= n).at(-1);
  const noResultsDays = anyLast ? calendarDaysBetween(anyLast.time, n) : undefined;
  const when = (name: string, d: number | undefined) =>
    d === undefined ? `${name} never on iguratimod` : `${name} last measured ${String(d)} days ago`;
  return {
    code: "monitoring-overdue",
    indicator: warn ? "warning" : "info",
    missing,
    ...(lastHb ? { lastHemoglobin: iso(lastHb.time), hemoglobinDaysAgo: hbAgo } : {}),
    ...(lastAlt ? { lastAlt: iso(lastAlt.time), altDaysAgo: altAgo } : {}),
    ...(noResultsDays !== undefined && noResultsDays > t.monitoringWarningAfterDays.value
      ? { noResultsDays }
      : {}),
    decidingValues: dv,
    evidence: uniqueRefs([...c.refs, ...dv.map((d) => d.ref)]),
    notes: factNotes(facts, ["hemoglobin", "alt"]),
    summary: `Iguratimod monitoring overdue: ${when("hemoglobin", hbAgo)}, ${when("ALT", altAgo)}`,
  };
}

export interface SafetyAlertEvent {
  readonly rule: "anemia" | "liver-injury";
  readonly severity: "warning" | "critical";
  readonly grade: number;
  readonly patient: string;
  readonly observationRef: string;
  readonly value: { readonly value: number; readonly unit: string };
  readonly baseline: { readonly value: number; readonly unit: string } | undefined;
  /** ISO instant of the triggering Observation. */
  readonly effective: string;
  /**
   * "resolved" when the triggering value is no longer the latest of its kind and the latest is
   * below the alert's level; otherwise "current" (docs/cds-contract.md#alerts).
   */
  readonly status: "current" | "resolved";
  /** The latest value of its kind. */
  readonly latest: { readonly value: number; readonly unit: string; readonly effective: string };
}

const LEVEL: Readonly<Record<Indicator | "none", number>> = {
  none: 0,
  info: 1,
  warning: 2,
  critical: 3,
};

/**
 * Every hemoglobin / ALT Observation since day 0 that, judged as the latest value at its own time,
 * is warning or critical (safety-team alerts, docs/clinical-rules.md#7-safety). Deterministic order (time, then ref).
 */
export function safetyAlertEvents(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): SafetyAlertEvent[] {
  const w = safetyWindow(facts, now, thresholds);
  if (!w) return [];
  const events: SafetyAlertEvent[] = [];
  const each = (kind: "hemoglobin" | "alt", judge: SafetyJudge): void => {
    const base = baselineOf(facts, kind, w, thresholds);
    const values = sinceDay0(facts, kind, w, now, thresholds);
    const latest = values.at(-1);
    if (!latest) return;
    const latestLevel = LEVEL[judge(facts, latest, base, w, thresholds)?.indicator ?? "none"];
    for (const v of values) {
      const f = judge(facts, v, base, w, thresholds);
      if (!f || f.indicator === "info") continue;
      const resolved = v.ref !== latest.ref && latestLevel < LEVEL[f.indicator];
      events.push({
        rule: f.code,
        severity: f.indicator,
        grade: f.grade,
        patient: facts.patientRef,
        observationRef: f.observationRef,
        value: f.value,
        baseline: f.baseline,
        effective: f.effective,
        status: resolved ? "resolved" : "current",
        latest: { value: latest.value, unit: latest.unit, effective: iso(latest.time) },
      });
    }
  };
  each("hemoglobin", judgeAnemia);
  each("alt", judgeLiver);
  return events.sort((a, b) =>
    a.effective < b.effective
      ? -1
      : a.effective > b.effective
        ? 1
        : a.observationRef < b.observationRef
          ? -1
          : 1,
  );
}
