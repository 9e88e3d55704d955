/**
 * The card of iguratimod-response: the week-24 verdict by kang2020 with kdigo2024 beside it
 * (never merged), the interim course before week 20, an early stop, and after a week-24
 * response either a renal relapse or remission maintained.
 */
import type { DataQualityNote, ResponseFinding, Thresholds } from "../../src/clinical/index.js";
import type { Card } from "../../src/hooks/schemas.js";
import { cell, displayUnit, findingCard, STUDY_URL } from "../shared/cards.js";
import { labOrderSuggestions } from "../shared/suggestions.js";

const DISPLAY: Record<ResponseFinding["code"], string> = {
  "response-interim": "Iguratimod course before the week-24 assessment",
  "week24-complete-response": "Week-24 complete response to iguratimod",
  "week24-partial-response": "Week-24 partial response to iguratimod",
  "week24-no-response": "No week-24 response to iguratimod",
  "week24-insufficient-data": "Week-24 response cannot be judged",
  "week24-discontinued-early": "Iguratimod stopped before week 24",
  "renal-relapse": "Renal relapse on iguratimod",
  "remission-maintained": "Remission maintained on iguratimod",
};

const VERDICT_WORDS = { CR: "complete", PR: "partial", NR: "no" } as const;

function signedPercent(p: number): string {
  const rounded = Math.round(p);
  return `${rounded > 0 ? "+" : rounded < 0 ? "−" : "±"}${Math.abs(rounded)} %`;
}

/** "proteinuria 5.17 → 1.62 g/24h (−69 %)" from the baseline and assessed values. */
function proteinChange(f: ResponseFinding, assessedLabel: string): string | undefined {
  const base = f.decidingValues.find((d) => d.label === "baseline proteinuria");
  const now = f.decidingValues.find((d) => d.label === assessedLabel);
  if (!base || !now) return undefined;
  const unit =
    now.unit === base.unit
      ? displayUnit(now.unit)
      : `${displayUnit(now.unit)}, baseline ${displayUnit(base.unit)}`;
  const change =
    f.proteinuriaChangePercent !== undefined
      ? ` (${signedPercent(f.proteinuriaChangePercent)})`
      : "";
  return `proteinuria ${base.value} → ${now.value} ${unit}${change}`;
}

function summaryOf(f: ResponseFinding): string {
  const w = f.week24;
  switch (f.code) {
    case "week24-complete-response":
    case "week24-partial-response":
    case "week24-no-response": {
      const words = w && w.kang2020 !== "insufficient-data" ? VERDICT_WORDS[w.kang2020] : "";
      const change = proteinChange(f, "assessed proteinuria");
      return `Week-24 ${words} response to iguratimod${change ? `: ${change}` : ""}`;
    }
    case "response-interim": {
      const change = proteinChange(f, "latest proteinuria");
      return `Iguratimod week ${f.weeksOnDrug} of 24${change ? `: ${change}` : ""}`;
    }
    case "renal-relapse":
      return `Renal relapse on iguratimod: ${f.followUp?.flare ?? "renal"} flare on ${(f.followUp?.at ?? "").slice(0, 10)} after week-24 ${w?.kang2020 ?? ""}`;
    case "remission-maintained": {
      const last = f.decidingValues.find((d) => d.label === "latest proteinuria");
      return `Remission maintained on iguratimod since week-24 ${w?.kang2020 ?? ""}${last ? `: proteinuria ${last.value} ${displayUnit(last.unit)} on ${last.time.slice(0, 10)}` : ""}`;
    }
    case "week24-insufficient-data":
    case "week24-discontinued-early":
      return f.summary;
  }
}

function criteriaText(t: Thresholds): string {
  const pct = (x: number) => Math.round(x * 100);
  const egfr = pct(t.kdigoEgfrMaxFallFraction.value);
  return [
    "Assessment at day 168 ± 28 of the current iguratimod course (ln-cds clinical rules §6); kang2020 decides, kdigo2024 is shown beside it.",
    "",
    "| set | complete response | partial response |",
    "|---|---|---|",
    `| kang2020 (primary) | protein < ${t.crProteinBelow.value} g/24h, creatinine ≤ ULN, urine RBC ≤ ${t.crUrineRbcAtMost.value}/HPF, no RBC casts | protein ≤ ${t.prProteinAtMost.value} g/24h and ≤ ${pct(t.prProteinFractionOfBaselineAtMost.value)} % of baseline, albumin > ${t.prAlbuminAbove.value} g/L, creatinine ≤ ${pct(t.prCreatinineFractionOfBaselineAtMost.value)} % of baseline |`,
    `| kdigo2024 | protein < ${t.kdigoCrProteinBelow.value} g/g, eGFR ≤ ${egfr} % below baseline | ≥ ${pct(t.kdigoPrReductionAtLeast.value)} % reduction to < ${t.kdigoPrProteinBelow.value} g/g, eGFR ≤ ${egfr} % below baseline |`,
  ].join("\n");
}

function verdictSection(f: ResponseFinding): string {
  const w = f.week24;
  const rows = [
    `| day 0 | ${f.day0.slice(0, 10)} |`,
    ...(f.stopped ? [`| stopped | ${f.stopped.slice(0, 10)} |`] : []),
    `| weeks on iguratimod | ${f.weeksOnDrug} |`,
    ...(f.proteinuriaChangePercent !== undefined
      ? [`| proteinuria change from baseline | ${signedPercent(f.proteinuriaChangePercent)} |`]
      : []),
    ...(w
      ? [
          `| week-24 assessment | ${w.assessed.slice(0, 10)} |`,
          `| **kang2020** | **${w.kang2020}** |`,
          `| kdigo2024 | ${w.kdigo2024} |`,
        ]
      : []),
    ...(f.lastStatus ? [`| last on-treatment status (kang2020) | ${f.lastStatus} |`] : []),
    ...(f.followUp
      ? [
          `| after week 24 | ${cell(f.followUp.status)}${f.followUp.flare ? ` (${f.followUp.flare} flare, ${(f.followUp.at ?? "").slice(0, 10)})` : ""} |`,
        ]
      : []),
  ];
  return ["| | |", "|---|---|", ...rows].join("\n");
}

export function responseCard(
  f: ResponseFinding,
  ctx: {
    readonly patientRef: string;
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
  },
): Card {
  const suggestions =
    f.code === "week24-insufficient-data"
      ? labOrderSuggestions(
          ctx.patientRef,
          ["protein24h", "creatinine"],
          "Week-24 assessment of iguratimod in lupus nephritis (ln-cds)",
        )
      : [];
  return findingCard(f, {
    display: DISPLAY[f.code],
    sourceUrl: STUDY_URL,
    summary: summaryOf(f),
    criteria: criteriaText(ctx.thresholds),
    sections: [verdictSection(f)],
    extraNotes: ctx.prefetchNotes,
    suggestions,
    overrides: "response",
  });
}
