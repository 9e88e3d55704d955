/**
 * The card of iguratimod-response: the week-24 verdict by kang2020 with kdigo2024 beside it
 * (never merged), the interim course before and inside the assessment window, an early or later
 * stop, and after a week-24 response either a renal relapse or remission maintained. A relapse or
 * no response offers the KDIGO 2024 work-up.
 */
import type {
  DataQualityNote,
  ResponseFinding,
  SteroidDose,
  Thresholds,
} from "../../src/clinical/index.js";
import { displayValue } from "../../src/clinical/index.js";
import type { Card } from "../../src/hooks/schemas.js";
import { factsTable, findingCard, KDIGO_URL, STUDY_URL, table } from "../shared/cards.js";
import { KDIGO_WORK_UP, labOrderSuggestions } from "../shared/suggestions.js";

const DISPLAY: Record<ResponseFinding["code"], string> = {
  "response-interim": "Iguratimod course before the week-24 assessment",
  "week24-complete-response": "Week-24 complete response to iguratimod",
  "week24-partial-response": "Week-24 partial response to iguratimod",
  "week24-no-response": "No week-24 response to iguratimod",
  "week24-insufficient-data": "Week-24 response cannot be judged",
  "week24-discontinued-early": "Iguratimod stopped before week 24",
  "iguratimod-stopped": "Iguratimod stopped after the assessment window opened",
  "renal-relapse": "Renal relapse after a week-24 response",
  "remission-maintained": "Remission maintained on iguratimod",
};

const VERDICT_WORDS = {
  CR: "complete response",
  PR: "partial response",
  NR: "no response",
  "insufficient-data": "not judged (insufficient data)",
} as const;

function signedPercent(p: number): string {
  const rounded = Math.round(p);
  return `${rounded > 0 ? "+" : rounded < 0 ? "−" : "±"}${Math.abs(rounded)} %`;
}

const find = (f: ResponseFinding, label: string) => f.decidingValues.find((d) => d.label === label);

/** "proteinuria 5.17 → 1.62 g/24h (−69 %)" from the baseline and assessed values. */
function proteinChange(f: ResponseFinding, assessedLabel: string): string | undefined {
  const base = find(f, "baseline proteinuria");
  const now = find(f, assessedLabel);
  if (!base || !now) return undefined;
  const b = displayValue(base);
  const a = displayValue(now);
  const sameUnit = base.unit === now.unit;
  const change =
    f.proteinuriaChangePercent !== undefined
      ? ` (${signedPercent(f.proteinuriaChangePercent)})`
      : "";
  return sameUnit
    ? `proteinuria ${b.replace(/ \S+$/, "")} → ${a}${change}`
    : `proteinuria ${b} → ${a}${change}`;
}

const day = (iso: string | undefined) => (iso ?? "").slice(0, 10);

function summaryOf(f: ResponseFinding): string {
  const w = f.week24;
  const now = f.proteinuriaNow;
  const nowText = now ? `; proteinuria now ${displayValue(now)} (${day(now.time)})` : "";
  switch (f.code) {
    case "week24-complete-response":
    case "week24-partial-response":
    case "week24-no-response": {
      const words = w ? VERDICT_WORDS[w.kang2020] : "";
      const change = proteinChange(f, "assessed proteinuria");
      return `Week-24 ${words} to iguratimod${change ? `: ${change}` : ""}`;
    }
    case "response-interim": {
      const change = proteinChange(f, "latest proteinuria");
      if (f.dueBy)
        return `Iguratimod week ${f.weeksOnDrug}: week-24 assessment due by ${day(f.dueBy)}${change ? `; ${change}` : ""}`;
      return `Iguratimod week ${f.weeksOnDrug}${change ? `: ${change}` : ""}`;
    }
    case "renal-relapse":
      return `Renal relapse: ${f.followUp?.flare ?? "renal"} flare on ${day(f.followUp?.at)} after week-24 ${w?.kang2020 ?? ""}${nowText}`;
    case "remission-maintained": {
      const last = find(f, "latest proteinuria");
      return `Remission maintained on iguratimod since week-24 ${w?.kang2020 ?? ""}${last ? `: proteinuria ${displayValue(last)} on ${day(last.time)}` : ""}`;
    }
    case "iguratimod-stopped":
      return `Iguratimod stopped on ${day(f.stopped)} after week-24 ${w ? VERDICT_WORDS[w.kang2020] : "assessment"}${f.stopReason && f.stopReason.kind !== "none" ? ` (${f.stopReason.text})` : ""}`;
    case "week24-insufficient-data":
      return f.windowClosed
        ? `Week-24 response cannot be judged: no proteinuria in days 140–196; the window closed on ${day(f.windowClosed)}`
        : f.summary;
    case "week24-discontinued-early":
      return f.summary;
  }
}

/** The verdict first, in one line: what was decided, on which date. */
function leadOf(f: ResponseFinding): string {
  const w = f.week24;
  const stop = f.stopped
    ? ` Iguratimod was stopped on ${day(f.stopped)}: ${f.stopReason?.text ?? "reason not recorded"}.`
    : "";
  switch (f.code) {
    case "response-interim":
      return f.dueBy
        ? `Week ${f.weeksOnDrug} on iguratimod (day 0 ${day(f.day0)}). The week-24 assessment window (days 140–196) is open and holds no proteinuria yet: it is **due by ${day(f.dueBy)}**.`
        : `Week ${f.weeksOnDrug} on iguratimod (day 0 ${day(f.day0)}); the week-24 assessment window opens on day 140.`;
    case "week24-insufficient-data":
      return f.windowClosed
        ? `No proteinuria was measured in the assessment window (days 140–196 after day 0 ${day(f.day0)}), which **closed on ${day(f.windowClosed)}**: the week-24 response cannot be judged, and no order now can change that.`
        : `Week-24 assessment on ${day(w?.assessed)}: a value the criteria need is missing (see the values below).`;
    case "week24-discontinued-early":
      return `Iguratimod was stopped on ${day(f.stopped)} (week ${f.weeksOnDrug}), before the assessment window opened: ${f.stopReason?.text ?? "reason not recorded"}.`;
    case "renal-relapse":
      return `**Renal relapse**: ${f.followUp?.flare ?? "renal"} flare on ${day(f.followUp?.at)} after a week-24 ${w?.kang2020 ?? ""} (assessed ${day(w?.assessed)}).${stop}`;
    case "week24-complete-response":
    case "week24-partial-response":
    case "week24-no-response":
    case "iguratimod-stopped":
    case "remission-maintained":
      return `Week-24 assessment on ${day(w?.assessed)}: kang2020 **${w?.kang2020 ?? "—"}**, kdigo2024 ${w?.kdigo2024 ?? "—"}.${stop}`;
  }
}

/** The thresholds the criteria text shows, in the order it reads them. */
const criteriaValues = (t: Thresholds): number[] => [
  t.kdigoEgfrMaxFallFraction.value,
  t.crProteinBelow.value,
  t.crUrineRbcAtMost.value,
  t.prProteinAtMost.value,
  t.prProteinFractionOfBaselineAtMost.value,
  t.prAlbuminAbove.value,
  t.prCreatinineFractionOfBaselineAtMost.value,
  t.kdigoCrProteinBelow.value,
  t.kdigoPrReductionAtLeast.value,
  t.kdigoPrProteinBelow.value,
];

/**
 * The criteria text of each thresholds object, with the values it was written from: the same
 * for every card of a service, so it is written again only when one of those values differs.
 */
const criteriaTexts = new WeakMap<Thresholds, { values: number[]; text: string }>();

function criteriaText(t: Thresholds): string {
  const values = criteriaValues(t);
  const known = criteriaTexts.get(t);
  if (known && known.values.every((v, i) => Object.is(v, values[i]))) return known.text;
  const text = writeCriteriaText(t);
  criteriaTexts.set(t, { values, text });
  return text;
}

function writeCriteriaText(t: Thresholds): string {
  const pct = (x: number) => Math.round(x * 100);
  const egfr = pct(t.kdigoEgfrMaxFallFraction.value);
  return [
    "Assessment at day 168 ± 28 of the iguratimod course; kang2020 decides, kdigo2024 is shown beside it.",
    "",
    table(
      ["criteria", "complete response", "partial response"],
      [
        [
          "kang2020",
          `protein < ${t.crProteinBelow.value} g/24h, creatinine ≤ ULN, urine RBC ≤ ${t.crUrineRbcAtMost.value}/HPF, no RBC casts`,
          `protein ≤ ${t.prProteinAtMost.value} g/24h and ≤ ${pct(t.prProteinFractionOfBaselineAtMost.value)} % of baseline, albumin > ${t.prAlbuminAbove.value} g/L, creatinine ≤ ${pct(t.prCreatinineFractionOfBaselineAtMost.value)} % of baseline`,
        ],
        [
          "kdigo2024",
          `protein < ${t.kdigoCrProteinBelow.value} g/g, eGFR ≤ ${egfr} % below baseline`,
          `≥ ${pct(t.kdigoPrReductionAtLeast.value)} % reduction to < ${t.kdigoPrProteinBelow.value} g/g, eGFR ≤ ${egfr} % below baseline`,
        ],
      ],
    ),
  ].join("\n");
}

function steroidText(d: SteroidDose | undefined): string {
  return d ? `${Math.round(d.mgPerDay * 10) / 10} mg/day` : "none recorded";
}

function courseSection(
  f: ResponseFinding,
  steroids: { readonly day0?: SteroidDose; readonly now?: SteroidDose },
): string {
  const rows: [string, string][] = [
    ["day 0", day(f.day0)],
    ...(f.stopped ? ([["stopped", day(f.stopped)]] as [string, string][]) : []),
    ["weeks on iguratimod", String(f.weeksOnDrug)],
  ];
  if (f.proteinuriaChangePercent !== undefined)
    rows.push(["proteinuria change from baseline", signedPercent(f.proteinuriaChangePercent)]);
  if (f.lastStatus) rows.push(["last status on iguratimod (kang2020)", f.lastStatus]);
  if (f.followUp?.status === "maintained") rows.push(["after week 24", "remission maintained"]);
  // A response on a high steroid dose is read differently (docs/clinical-rules.md#9-cards).
  if (steroids.day0 || steroids.now) {
    rows.push(["glucocorticoid at day 0 (prednisone-equivalent)", steroidText(steroids.day0)]);
    rows.push(["glucocorticoid now (prednisone-equivalent)", steroidText(steroids.now)]);
  }
  return factsTable(rows);
}

const REASON = "Week-24 assessment of iguratimod in lupus nephritis";

export function responseCard(
  f: ResponseFinding,
  ctx: {
    readonly patientRef: string;
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
    readonly steroids?: { readonly day0?: SteroidDose; readonly now?: SteroidDose };
  },
): Card {
  const suggestions = labOrderSuggestions(ctx.patientRef, f.labsToOrder ?? [], REASON);
  if (f.workUp) {
    const reason =
      f.code === "renal-relapse"
        ? "Renal relapse of lupus nephritis: KDIGO 2024 work-up"
        : "No renal response of lupus nephritis: KDIGO 2024 work-up";
    suggestions.push(...labOrderSuggestions(ctx.patientRef, KDIGO_WORK_UP, reason));
  }
  const steroids = ctx.steroids ?? {};
  // The glucocorticoid orders the course section reads are evidence too, after the finding's.
  const steroidRefs = [...(steroids.day0?.refs ?? []), ...(steroids.now?.refs ?? [])];
  return findingCard(f, {
    display: DISPLAY[f.code],
    sourceUrl: f.workUp ? KDIGO_URL : STUDY_URL,
    summary: summaryOf(f),
    lead: leadOf(f),
    criteria: criteriaText(ctx.thresholds),
    sections: [courseSection(f, steroids)],
    extraNotes: ctx.prefetchNotes,
    extraEvidence: steroidRefs,
    suggestions,
    overrides: "response",
    ...(f.workUp
      ? {
          extraLinks: [
            { label: "KDIGO 2024 lupus nephritis guideline", url: KDIGO_URL, type: "absolute" },
          ],
        }
      : {}),
  });
}
