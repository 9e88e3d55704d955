/** Refractory-LN eligibility, kang2020 (docs/clinical-rules.md#5-eligibility). */
import { IMMUNOSUPPRESSANTS, type Agent, type LabKind } from "./codes.js";
import { courseOutcome, type CourseOutcome } from "./course-outcome.js";
import type { PatientFacts, MedicationCourse } from "./facts.js";
import {
  endedIguratimodCourse,
  previousIguratimodCourses,
  type PreviousIguratimodCourse,
} from "./iguratimod-history.js";
import { uniqueRefs, type DecidingValue, type Finding } from "./findings.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import {
  days,
  decidingValue,
  factNotes,
  nearestProteinuria,
  substitutionNote,
} from "./timeline.js";

export type EligibilityVerdict = "eligible" | "not-eligible" | "insufficient-data";
export type EligibilityCriterion =
  | "lupus-nephritis"
  | "two-failed-agents"
  | "proteinuria-1g"
  /** docs/clinical-rules.md#5-eligibility: a previous iguratimod course rules out a new start. */
  | "iguratimod-not-tried";

export interface EligibilityFinding extends Finding<
  "refractory-ln-eligible" | "refractory-ln-not-eligible" | "refractory-ln-insufficient-data"
> {
  readonly verdict: EligibilityVerdict;
  readonly unmetCriteria: readonly EligibilityCriterion[];
  /** Criteria that missing data leaves open. */
  readonly undecidedCriteria: readonly EligibilityCriterion[];
  /** Agents whose courses ended failed or relapsed (each counted once). */
  readonly failedAgents: readonly Agent[];
  /** Every prior immunosuppressant course, with its outcome. */
  readonly courses: readonly CourseOutcome[];
  /** Iguratimod courses that ended before now, oldest first (then the verdict is not-eligible). */
  readonly previousIguratimod: readonly PreviousIguratimodCourse[];
}

/**
 * Every kind of lab the eligibility rules read (docs/clinical-rules.md#5-eligibility), and whose
 * data-quality notes they show: proteinuria (24-h protein, else UPCR) for the verdict and each
 * prior course's outcome, hemoglobin and ALT for an earlier iguratimod course stopped for toxicity.
 * Creatinine, albumin, eGFR and urine sediment never change the verdict, so a caller may leave
 * them unread.
 */
export const ELIGIBILITY_LAB_KINDS: readonly LabKind[] = [
  "protein24h",
  "upcr",
  "hemoglobin",
  "alt",
];

/** True when an iguratimod course has started before `now` and has not ended before it. */
export function onIguratimod(facts: Pick<PatientFacts, "courses">, now: Date): boolean {
  const n = now.getTime();
  return facts.courses.some(
    (c) => c.agent === "iguratimod" && c.start < n && (c.end === undefined || c.end >= n),
  );
}

/** The kinds of lab that decide the verdict and the prior courses' outcomes: proteinuria. */
const PROTEINURIA_LAB_KINDS: readonly LabKind[] = ["protein24h", "upcr"];

/**
 * The kinds of lab refractoryEligibility reads for these courses: none when the patient is on
 * iguratimod (it judges nobody who is); hemoglobin and ALT besides proteinuria only to judge the
 * toxicity of an iguratimod course that ended before `now` (previousIguratimodCourses). For
 * normalisePatient's `labKinds`.
 */
export function eligibilityLabKinds(
  courses: readonly MedicationCourse[],
  now: Date,
): readonly LabKind[] {
  if (onIguratimod({ courses }, now)) return [];
  const n = now.getTime();
  return courses.some((c) => endedIguratimodCourse(c, n))
    ? ELIGIBILITY_LAB_KINDS
    : PROTEINURIA_LAB_KINDS;
}

/**
 * Eligible when ≥ 2 distinct agents failed or relapsed AND the latest proteinuria within 90 days is ≥ 1.0 g/24h.
 * Returns undefined when the patient is already on iguratimod (not evaluated, docs/clinical-rules.md#5-eligibility).
 */
export function refractoryEligibility(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): EligibilityFinding | undefined {
  if (onIguratimod(facts, now)) return undefined;
  const t = thresholds;
  const n = now.getTime();
  const prior: MedicationCourse[] = facts.courses.filter(
    (c) => IMMUNOSUPPRESSANTS.has(c.agent) && c.start <= n,
  );
  const outcomes = prior.map((c) => courseOutcome(facts, c, now, t));
  const failed = new Set<Agent>();
  for (const o of outcomes)
    if (o.outcome === "failed" || o.outcome === "relapsed") failed.add(o.agent);
  const unknownAgents = new Set<Agent>();
  for (const o of outcomes)
    if (o.outcome === "unknown" && !failed.has(o.agent)) unknownAgents.add(o.agent);

  const need = t.eligibilityMinFailedAgents.value;
  const agentsMet = failed.size >= need;
  const agentsPossible = failed.size + unknownAgents.size >= need;

  const from = n - days(t.eligibilityProteinLookbackDays.value);
  const latestP = nearestProteinuria(facts, n, from, n);
  const proteinMet = latestP ? latestP.value.value >= t.eligibilityProteinAtLeast.value : undefined;

  const unmet: EligibilityCriterion[] = [];
  const undecided: EligibilityCriterion[] = [];
  if (!facts.lnDiagnosis) unmet.push("lupus-nephritis");
  if (!agentsMet) (agentsPossible ? undecided : unmet).push("two-failed-agents");
  if (proteinMet === false) unmet.push("proteinuria-1g");
  if (proteinMet === undefined) undecided.push("proteinuria-1g");
  const previous = previousIguratimodCourses(facts, now, t);
  if (previous.length > 0) unmet.push("iguratimod-not-tried");

  const verdict: EligibilityVerdict =
    unmet.length > 0 ? "not-eligible" : undecided.length > 0 ? "insufficient-data" : "eligible";
  const dv: DecidingValue[] = [];
  if (latestP) dv.push(decidingValue("latest proteinuria (90 days)", latestP.value));
  for (const o of outcomes) dv.push(...o.decidingValues);
  const notes = [...factNotes(facts, ["protein24h", "upcr"]), ...outcomes.flatMap((o) => o.notes)];
  if (latestP?.substituted) notes.push(substitutionNote(latestP.value));
  const code =
    verdict === "eligible"
      ? "refractory-ln-eligible"
      : verdict === "not-eligible"
        ? "refractory-ln-not-eligible"
        : "refractory-ln-insufficient-data";
  const agentList = [...failed].join(", ");
  const lastTry = previous.at(-1);
  const summary = lastTry
    ? `Not eligible for a new start: iguratimod already tried (${lastTry.outcome.start.slice(0, 10)} to ${lastTry.outcome.end?.slice(0, 10) ?? "?"}: ${previousCourseWords(lastTry)})`
    : verdict === "eligible"
      ? `Refractory LN (kang2020): ${failed.size} agents failed (${agentList}); proteinuria ${latestP?.value.value} g/24h`
      : verdict === "not-eligible"
        ? `Not refractory LN by kang2020 criteria: unmet ${unmet.join(", ")}`
        : `Refractory-LN eligibility undecided: missing data for ${undecided.join(", ")}`;
  return {
    code,
    indicator: "info",
    verdict,
    unmetCriteria: unmet,
    undecidedCriteria: undecided,
    failedAgents: [...failed],
    courses: outcomes,
    previousIguratimod: previous,
    decidingValues: dv,
    evidence: uniqueRefs([
      ...(facts.lnDiagnosis ? [facts.lnDiagnosis.ref] : []),
      ...(latestP ? [latestP.value.ref] : []),
      ...outcomes.flatMap((o) => o.evidence),
      ...previous.flatMap((p) => p.evidence),
    ]),
    notes,
    summary: summary.slice(0, 139),
  };
}

const PREVIOUS_OUTCOME_WORDS = {
  responded: "responded",
  relapsed: "relapsed",
  failed: "failed",
  "too-short": "stopped too early to judge",
  unknown: "outcome unknown",
} as const;

/** "intolerance", else the outcome in words (docs/clinical-rules.md#4-prior-courses), for a previous iguratimod course. */
export function previousCourseWords(p: PreviousIguratimodCourse): string {
  return p.intolerance ? "intolerance" : PREVIOUS_OUTCOME_WORDS[p.outcome.outcome];
}
