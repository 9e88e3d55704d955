/** Outcome of a prior immunosuppressant course (docs/clinical-rules.md#4-prior-courses). */
import { SNOMED_ABSENT_RESPONSE } from "./codes.js";
import {
  DAY_MS,
  type DataQualityNote,
  type LabFact,
  type MedicationCourse,
  type PatientFacts,
} from "./facts.js";
import type { DecidingValue } from "./findings.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import {
  days,
  decidingValue,
  nearestProteinuria,
  proteinuria,
  substitutionNote,
} from "./timeline.js";

export type CourseOutcomeKind = "responded" | "relapsed" | "failed" | "too-short" | "unknown";

export interface CourseOutcome {
  readonly agent: MedicationCourse["agent"];
  readonly start: string;
  /** ISO instant; undefined when ongoing. */
  readonly end?: string;
  readonly durationDays: number;
  readonly outcome: CourseOutcomeKind;
  /** How the outcome was decided: from proteinuria, or from a recorded reason when none was measured. */
  readonly decidedBy: "proteinuria" | "status-reason" | "none";
  readonly decidingValues: readonly DecidingValue[];
  readonly evidence: readonly string[];
  readonly notes: readonly DataQualityNote[];
}

/**
 * Judges one course at `now` (an ongoing course is judged up to now).
 * responded: a value < 0.3 (CR-level) or ≤ 2.0 and ≤ 50 % of baseline (PR-level);
 * relapsed: responded, then a flare in the window; failed: ≥ 182 days and never responded.
 */
export function courseOutcome(
  facts: PatientFacts,
  course: MedicationCourse,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): CourseOutcome {
  const t = thresholds;
  const nowMs = now.getTime();
  const end = course.end !== undefined ? Math.min(course.end, nowMs) : nowMs;
  const durationDays = Math.floor((end - course.start) / DAY_MS);
  const windowEnd = Math.min(end + days(t.courseWindowAfterEndDays.value), nowMs);
  const notes: DataQualityNote[] = [];
  const baseline = nearestProteinuria(
    facts,
    course.start,
    course.start - days(t.courseBaselineBeforeDays.value),
    course.start + days(t.courseBaselineAfterDays.value),
  );
  const series = proteinuria(facts, course.start, windowEnd);
  const onCourse = series.values.filter((v) => v.ref !== baseline?.value.ref);
  if (series.substituted) for (const v of onCourse) notes.push(substitutionNote(v));
  if (baseline?.substituted) notes.push(substitutionNote(baseline.value));
  const base = {
    agent: course.agent,
    start: new Date(course.start).toISOString(),
    ...(course.end !== undefined ? { end: new Date(course.end).toISOString() } : {}),
    durationDays,
  };

  if (onCourse.length === 0) {
    const reasons = course.reasons;
    let outcome: CourseOutcomeKind = "unknown";
    let decidedBy: CourseOutcome["decidedBy"] = "none";
    if (reasons.some((r) => r.codes.includes(SNOMED_ABSENT_RESPONSE))) {
      outcome = "failed";
      decidedBy = "status-reason";
    } else if (reasons.some((r) => /relapse|flare/i.test(r.text))) {
      outcome = "relapsed";
      decidedBy = "status-reason";
    }
    return { ...base, outcome, decidedBy, decidingValues: [], evidence: [...course.refs], notes };
  }

  const baseValue = baseline?.value.value;
  const crLevel = (v: number) => v < t.crProteinBelow.value;
  const prLevel = (v: number) =>
    baseValue !== undefined &&
    v <= t.prProteinAtMost.value &&
    v <= t.prProteinFractionOfBaselineAtMost.value * baseValue;
  let response: "CR" | "PR" | undefined;
  let responseValue: LabFact | undefined;
  let lowest = Infinity;
  let flare: LabFact | undefined;
  for (const v of onCourse) {
    if (response === "CR" && v.value > t.flareAfterCrProteinAbove.value) {
      flare = v;
      break;
    }
    if (
      response === "PR" &&
      v.value >= t.flareAfterPrMultipleOfLowest.value * lowest &&
      v.value >= t.flareAfterPrProteinAtLeast.value
    ) {
      flare = v;
      break;
    }
    if (crLevel(v.value)) {
      if (response !== "CR") responseValue = v;
      response = "CR";
    } else if (prLevel(v.value) && response === undefined) {
      response = "PR";
      responseValue = v;
    }
    if (response !== undefined) lowest = Math.min(lowest, v.value);
  }
  const dv: DecidingValue[] = [];
  if (baseline) dv.push(decidingValue("course baseline proteinuria", baseline.value));
  let outcome: CourseOutcomeKind;
  if (flare && responseValue) {
    outcome = "relapsed";
    dv.push(
      decidingValue(`${response}-level proteinuria on course`, responseValue),
      decidingValue("renal flare", flare),
    );
  } else if (responseValue) {
    outcome = "responded";
    dv.push(decidingValue(`${response}-level proteinuria on course`, responseValue));
  } else {
    outcome = durationDays >= t.courseMinDurationDays.value ? "failed" : "too-short";
    const last = onCourse[onCourse.length - 1];
    if (last) dv.push(decidingValue("last proteinuria on course", last));
  }
  return {
    ...base,
    outcome,
    decidedBy: "proteinuria",
    decidingValues: dv,
    evidence: [...course.refs, ...dv.map((d) => d.ref)],
    notes,
  };
}
