/**
 * A previous iguratimod course (docs/clinical-rules.md#5-eligibility): judged by the outcome rules
 * of prior courses (docs/clinical-rules.md#4-prior-courses) applied to iguratimod itself, with its
 * stop reason, and named an intolerance when it was stopped for an adverse event or had a critical
 * safety finding (docs/clinical-rules.md#7-safety) while on it or within 30 days after the stop.
 */
import { SNOMED_ADVERSE_REACTION, SNOMED_NOT_TOLERATED } from "./codes.js";
import { courseOutcome, type CourseOutcome } from "./course-outcome.js";
import type { LabFact, MedicationCourse, PatientFacts } from "./facts.js";
import type { DecidingValue } from "./findings.js";
import { anemiaGrade, liverGrade } from "./safety.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import { altUln, days, decidingValue, hemoglobinLln, labsOf, nearest } from "./timeline.js";

/**
 * Stop-reason text that names a side effect of the drug. Cytopenias other than anaemia are left
 * out on purpose: in lupus they are as often disease activity ("thrombocytopenia, rising
 * anti-dsDNA") as toxicity, and a coded reason or a graded value decides those cases instead.
 */
const SIDE_EFFECT_TEXT =
  /not tolerated|intoleran|adverse|side[- ]?effect|toxicit|hepatotox|drug[- ]induced|allerg|hypersensitiv|rash|an(a)?emia|liver injury|transaminase|\bALT\b/i;

export interface PreviousIguratimodCourse {
  /** The course as docs/clinical-rules.md#4-prior-courses judges it (dates, duration, outcome and the proteinuria that decided it). */
  readonly outcome: CourseOutcome;
  /** The recorded stop reason(s) as text; undefined when none was recorded. */
  readonly stopReason?: string;
  /** Stopped for an adverse event, or a critical safety finding while on it. */
  readonly intolerance: boolean;
  /** The grade ≥ 3 value during the course (or within 30 days after the stop), when there was one. */
  readonly criticalValue?: DecidingValue & { readonly grade: number };
  readonly evidence: readonly string[];
}

function stoppedForAdverseEvent(course: MedicationCourse): boolean {
  return course.reasons.some(
    (r) =>
      r.codes.includes(SNOMED_NOT_TOLERATED) ||
      r.codes.includes(SNOMED_ADVERSE_REACTION) ||
      SIDE_EFFECT_TEXT.test(r.text),
  );
}

/** The worst grade-≥ 3 anaemia or liver value from the course start to 30 days after its end. */
function criticalValueDuring(
  facts: PatientFacts,
  course: MedicationCourse & { end: number },
  t: Thresholds,
): (DecidingValue & { grade: number }) | undefined {
  const from = course.start;
  const to = course.end + days(t.safetyAfterStopDays.value);
  let worst: { lab: LabFact; grade: number } | undefined;
  const consider = (lab: LabFact, grade: number) => {
    if (grade >= 3 && (!worst || grade > worst.grade)) worst = { lab, grade };
  };
  for (const hb of labsOf(facts, "hemoglobin", from, to))
    consider(hb, anemiaGrade(hb.value, hemoglobinLln(hb, facts.sex, t), t));
  const altBaseline = nearest(
    labsOf(facts, "alt"),
    course.start,
    course.start - days(t.safetyBaselineBeforeDays.value),
    course.start,
  );
  for (const alt of labsOf(facts, "alt", from, to))
    consider(alt, liverGrade(alt.value, altUln(alt, facts.sex, t), altBaseline?.value, t));
  if (!worst) return undefined;
  const label = worst.lab.kind === "hemoglobin" ? "hemoglobin on iguratimod" : "ALT on iguratimod";
  return { ...decidingValue(label, worst.lab), grade: worst.grade };
}

/** Whether `c` is an iguratimod course that ended before `n` (ms): a previous course. */
export function endedIguratimodCourse(c: MedicationCourse, n: number): boolean {
  return c.agent === "iguratimod" && c.end !== undefined && c.end < n;
}

/** Every iguratimod course that ended before `now`, oldest first. */
export function previousIguratimodCourses(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): PreviousIguratimodCourse[] {
  const n = now.getTime();
  const out: PreviousIguratimodCourse[] = [];
  for (const c of facts.courses) {
    if (!endedIguratimodCourse(c, n) || c.end === undefined) continue;
    const ended = { ...c, end: c.end };
    const outcome = courseOutcome(facts, ended, now, thresholds);
    const critical = criticalValueDuring(facts, ended, thresholds);
    const reasonText = [...new Set(c.reasons.map((r) => r.text).filter((x) => x !== ""))].join(
      "; ",
    );
    out.push({
      outcome,
      ...(reasonText !== "" ? { stopReason: reasonText } : {}),
      intolerance: stoppedForAdverseEvent(c) || critical !== undefined,
      ...(critical ? { criticalValue: critical } : {}),
      evidence: [...new Set([...outcome.evidence, ...(critical ? [critical.ref] : [])])],
    });
  }
  return out;
}
