/**
 * The eligibility card, shown by refractory-ln-eligibility and by the order check: the verdict of
 * docs/clinical-rules.md#5-eligibility with every prior immunosuppressant course, its dates, its outcome and the
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
import { displayNumber, displayValue } from "../../src/clinical/index.js";
import { displayUnit, findingCard, STUDY_URL, table, type OverrideKind } from "./cards.js";
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

const OUTCOME_SHORT = {
  responded: "responded",
  relapsed: "relapsed (counts as failed)",
  failed: "failed",
  "too-short": "too short to judge",
  unknown: "unknown (no proteinuria)",
} as const;

/** "3.6 → 0.2 → 1.2 g/24h": the proteinuria values that decided a course, in order. */
function courseProteinuria(c: EligibilityFinding["courses"][number]): string {
  const values = [...c.decidingValues].sort((a, b) => (a.time < b.time ? -1 : 1));
  if (values.length === 0) return c.decidedBy === "status-reason" ? "stop reason" : "—";
  const unit = values[0]?.unit ?? "";
  const same = values.every((v) => v.unit === unit);
  return same
    ? `${values.map((v) => displayNumber(v)).join(" → ")} ${displayUnit(unit)}`
    : values.map((v) => displayValue(v)).join(" → ");
}

/** Every prior course in four columns; the resources stay in the card's evidence. */
function coursesTable(f: EligibilityFinding): string {
  if (f.courses.length === 0) return "No prior immunosuppressant course on record.";
  return [
    "**Prior immunosuppressant courses**",
    "",
    table(
      ["agent", "course", "outcome", "proteinuria"],
      f.courses.map((c) => [
        c.agent,
        `${c.start.slice(0, 10)} – ${c.end ? c.end.slice(0, 10) : "ongoing"}`,
        OUTCOME_SHORT[c.outcome],
        courseProteinuria(c),
      ]),
    ),
  ].join("\n");
}

/** A previous iguratimod course rules out a new start (docs/clinical-rules.md#5-eligibility). */
function previousIguratimodTable(f: EligibilityFinding): string {
  if (f.previousIguratimod.length === 0) return "";
  const rows = f.previousIguratimod.map((p) => {
    const v = p.criticalValue;
    const critical = v
      ? `; ${v.kind === "hemoglobin" ? "Hb" : "ALT"} ${displayNumber(v)} ${displayUnit(v.unit)} on ${v.time.slice(0, 10)} (CTCAE grade ${v.grade})`
      : "";
    return [
      `${p.outcome.start.slice(0, 10)} – ${p.outcome.end?.slice(0, 10) ?? "?"}`,
      String(p.outcome.durationDays),
      previousCourseWords(p) + critical,
      p.stopReason ?? "not recorded",
    ];
  });
  return [
    "**Iguratimod already tried**",
    "",
    table(["course", "days", "outcome", "stop reason"], rows),
  ].join("\n");
}

/** The verdict and the facts that decided it, first. */
function leadOf(f: EligibilityFinding): string {
  const latest = f.decidingValues.find((d) => d.label.startsWith("latest proteinuria"));
  const protein = latest
    ? `latest proteinuria ${displayValue(latest)} on ${latest.time.slice(0, 10)}`
    : "no proteinuria in the last 90 days";
  const agents =
    f.failedAgents.length > 0
      ? `${f.failedAgents.length} agent${f.failedAgents.length === 1 ? "" : "s"} failed or relapsed (${f.failedAgents.join(", ")})`
      : "no agent failed or relapsed";
  const verdict =
    f.verdict === "eligible"
      ? "**Refractory LN** by kang2020"
      : f.verdict === "not-eligible"
        ? "**Not refractory LN** by kang2020"
        : "**Undecided**";
  const tried = f.previousIguratimod[0];
  if (tried)
    return `**Not eligible for a new start: iguratimod already tried** (${tried.outcome.start.slice(0, 10)} – ${tried.outcome.end?.slice(0, 10) ?? "?"}, ${previousCourseWords(tried)}). Otherwise: ${agents}; ${protein}.`;
  return `${verdict}: ${agents}; ${protein}.`;
}

function summaryOf(f: EligibilityFinding): string {
  if (f.previousIguratimod.length > 0) return f.summary;
  const latest = f.decidingValues.find((d) => d.label.startsWith("latest proteinuria"));
  switch (f.verdict) {
    case "eligible":
      return `Refractory LN (kang2020): ${f.failedAgents.length} agents failed (${f.failedAgents.join(", ")})${latest ? `; proteinuria ${displayValue(latest)}` : ""}`;
    case "not-eligible":
      return `Not refractory LN by kang2020: no ${f.unmetCriteria.map((c) => CRITERION_WORDS[c]).join("; no ")}`;
    case "insufficient-data":
      return `Refractory-LN eligibility undecided: missing data on ${f.undecidedCriteria.map((c) => CRITERION_WORDS[c]).join("; ")}`;
  }
}

function criteriaText(t: Thresholds): string {
  return [
    "kang2020: eligible when both hold:",
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
    /** The order check shows not-eligible and undecided as warnings (docs/clinical-rules.md#8-ordering). */
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
      lead: leadOf(f),
      noValuesTable: true,
      sections: [previousIguratimodTable(f), coursesTable(f)].filter((x) => x !== ""),
      extraNotes: ctx.prefetchNotes,
      suggestions,
      overrides: ctx.overrides ?? "order",
    },
  );
}
