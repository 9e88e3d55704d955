/**
 * The eligibility card, shown by refractory-ln-eligibility and by the order check: the verdict of
 * clinical rules §5 with every prior immunosuppressant course, its dates, its outcome and the
 * Observations that decided it.
 */
import {
  previousCourseWords,
  type DataQualityNote,
  type EligibilityFinding,
  type Indicator,
  type Thresholds,
} from "../../src/clinical/index.js";
import type { Card } from "../../src/hooks/schemas.js";
import { cell, displayUnit, findingCard, STUDY_URL, type OverrideKind } from "./cards.js";
import { labOrderSuggestions } from "./suggestions.js";

const DISPLAY = {
  "refractory-ln-eligible": "Refractory lupus nephritis (kang2020 criteria met)",
  "refractory-ln-not-eligible": "Refractory-LN criteria not met",
  "refractory-ln-insufficient-data": "Refractory-LN eligibility undecided",
} as const;

const CRITERION_WORDS = {
  "lupus-nephritis": "a lupus nephritis diagnosis",
  "two-failed-agents": "two failed immunosuppressants",
  "proteinuria-1g": "proteinuria ≥ 1 g/24h in 90 days",
  "iguratimod-not-tried": "previous iguratimod course",
} as const;

const OUTCOME_WORDS = {
  responded: "responded",
  relapsed: "relapsed (counts as failed)",
  failed: "failed",
  "too-short": "too short to judge (not a failure)",
  unknown: "unknown: no proteinuria during the course",
} as const;

function coursesTable(f: EligibilityFinding): string {
  if (f.courses.length === 0) return "No prior immunosuppressant course on record.";
  const rows = f.courses.map(
    (c) =>
      `| ${cell(c.agent)} | ${c.start.slice(0, 10)} | ${c.end ? c.end.slice(0, 10) : "ongoing"} | ` +
      `${c.durationDays} | ${OUTCOME_WORDS[c.outcome]} | ${cell(c.evidence.join(", ") || "—")} |`,
  );
  return [
    "**Prior immunosuppressant courses**",
    "",
    "| agent | start | end | days | outcome | resources |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** A previous iguratimod course rules out a new start (docs/clinical-rules.md#5-eligibility). */
function previousIguratimodTable(f: EligibilityFinding): string {
  if (f.previousIguratimod.length === 0) return "";
  const rows = f.previousIguratimod.map((p) => {
    const critical = p.criticalValue
      ? `; ${p.criticalValue.kind === "hemoglobin" ? "Hb" : "ALT"} ${p.criticalValue.value} ${displayUnit(p.criticalValue.unit)} on ${p.criticalValue.time.slice(0, 10)} (CTCAE grade ${p.criticalValue.grade})`
      : "";
    return (
      `| ${p.outcome.start.slice(0, 10)} to ${p.outcome.end?.slice(0, 10) ?? "?"} | ${p.outcome.durationDays} | ` +
      `${cell(previousCourseWords(p) + critical)} | ${cell(p.stopReason ?? "not recorded")} |`
    );
  });
  return [
    "**Iguratimod already tried**",
    "",
    "| course | days | outcome | stop reason |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function summaryOf(f: EligibilityFinding): string {
  if (f.previousIguratimod.length > 0) return f.summary;
  const latest = f.decidingValues.find((d) => d.label.startsWith("latest proteinuria"));
  switch (f.verdict) {
    case "eligible":
      return `Refractory LN (kang2020): ${f.failedAgents.length} agents failed (${f.failedAgents.join(", ")})${latest ? `; proteinuria ${latest.value} ${displayUnit(latest.unit)}` : ""}`;
    case "not-eligible":
      return `Not refractory LN by kang2020: no ${f.unmetCriteria.map((c) => CRITERION_WORDS[c]).join("; no ")}`;
    case "insufficient-data":
      return `Refractory-LN eligibility undecided: missing data on ${f.undecidedCriteria.map((c) => CRITERION_WORDS[c]).join("; ")}`;
  }
}

function criteriaText(t: Thresholds): string {
  return [
    "ln-cds clinical rules §5 (kang2020). Eligible when both hold:",
    "",
    `1. ≥ ${t.eligibilityMinFailedAgents.value} distinct immunosuppressants whose courses failed (≥ ${t.courseMinDurationDays.value} days without response) or relapsed;`,
    `2. the latest proteinuria within ${t.eligibilityProteinLookbackDays.value} days is ≥ ${t.eligibilityProteinAtLeast.value} g/24h (UPCR in g/g substitutes when no 24-h value exists).`,
  ].join("\n");
}

export function eligibilityCard(
  f: EligibilityFinding,
  ctx: {
    readonly patientRef: string;
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
    /** The order check shows not-eligible and undecided as warnings (§8). */
    readonly indicator?: Indicator;
    readonly overrides?: OverrideKind;
  },
): Card {
  const suggestions = f.undecidedCriteria.includes("proteinuria-1g")
    ? labOrderSuggestions(
        ctx.patientRef,
        ["protein24h"],
        "Refractory lupus nephritis assessment (ln-cds)",
      )
    : [];
  return findingCard(
    { ...f, indicator: ctx.indicator ?? f.indicator },
    {
      display: DISPLAY[f.code],
      sourceUrl: STUDY_URL,
      summary: summaryOf(f),
      criteria: criteriaText(ctx.thresholds),
      sections: [previousIguratimodTable(f), coursesTable(f)].filter((x) => x !== ""),
      extraNotes: ctx.prefetchNotes,
      suggestions,
      overrides: ctx.overrides ?? "order",
    },
  );
}
