/**
 * Cards of iguratimod-safety: anaemia and liver injury graded by CTCAE v5.0, and overdue
 * monitoring. Critical cards offer to stop the active iguratimod order; overdue monitoring offers
 * the lab orders.
 */
import type { FhirResource } from "fhir/r4.js";
import type {
  DataQualityNote,
  MonitoringFinding,
  SafetyFinding,
  Thresholds,
} from "../../src/clinical/index.js";
import type { Card } from "../../src/hooks/schemas.js";
import { displayValue } from "../../src/clinical/index.js";
import { CTCAE_URL, findingCard, STUDY_URL } from "../shared/cards.js";
import { labOrderSuggestions, stopIguratimodSuggestions } from "../shared/suggestions.js";

const RULES = {
  anemia: (t: Thresholds) =>
    [
      "Latest hemoglobin since iguratimod day 0 against the baseline (day −60 to 0), CTCAE v5.0:",
      "",
      `- grade 1: LLN > Hb ≥ ${t.anemiaGrade2Below.value} g/L; grade 2: ${t.anemiaGrade2Below.value} > Hb ≥ ${t.anemiaGrade3Below.value}; grade 3: Hb < ${t.anemiaGrade3Below.value}.`,
      `- **critical** at grade ≥ 3; **warning** at grade 2 or a fall ≥ ${t.anemiaFallWarningAtLeast.value} g/L from baseline; info at grade 1 with a fall ≥ ${t.anemiaFallInfoAtLeast.value} g/L (a grade-1 Hb within ${t.anemiaFallInfoAtLeast.value} g/L of its baseline was there before iguratimod).`,
      "- kang2020: one of 14 patients developed severe anaemia (Hb 80 g/L at week 7, 32 g/L at week 12).",
    ].join("\n"),
  "liver-injury": (t: Thresholds) =>
    [
      "Latest ALT since iguratimod day 0, CTCAE v5.0 (multiples of the baseline when it was above ULN):",
      "",
      `- grade 1 > ULN–3×ULN, grade 2 > 3–5×ULN, grade 3 > 5–20×ULN, grade 4 > 20×ULN; with a baseline above ULN, grade 1 from ${t.liverGrade1BaselineMultiple.value}× baseline; **critical** at grade ≥ 3.`,
      `- **warning** at grade 2, at ALT ≥ ${t.altStopAtLeast.value} U/L (Japanese label: stop) or ALT > ${t.altReduceDoseAboveUlnMultiple.value}×ULN (Chinese label: reduce the dose).`,
    ].join("\n"),
  "monitoring-overdue": (t: Thresholds) =>
    `On iguratimod, hemoglobin and ALT at least every ${t.monitoringIntervalDays.value} days (Chinese label: monthly ALT); a warning when the last is more than ${t.monitoringWarningAfterDays.value} days old or none was measured since day 0 (kang2020 monitored every 1–3 months).`,
} as const;

/** The deciding facts first: the value, its date, its grade or how long ago. */
function leadOf(finding: SafetyFinding | MonitoringFinding): string {
  if (finding.code === "monitoring-overdue") {
    const part = (name: string, days: number | undefined) =>
      days === undefined
        ? `${name}: none since iguratimod day 0`
        : `${name}: last ${String(days)} days ago`;
    const lost =
      finding.noResultsDays !== undefined
        ? ` No result of any kind for ${String(finding.noResultsDays)} days: check that the patient still takes iguratimod and is followed up.`
        : "";
    return `${part("Hemoglobin", finding.hemoglobinDaysAgo)}; ${part("ALT", finding.altDaysAgo)}.${lost}`;
  }
  const v = finding.decidingValues[0];
  const b = finding.decidingValues[1];
  const name = finding.code === "anemia" ? "Hb" : "ALT";
  return `${name} **${v ? displayValue(v) : ""}** on ${finding.effective.slice(0, 10)}: CTCAE v5.0 grade ${String(finding.grade)}${b ? `; baseline ${displayValue(b)} on ${b.time.slice(0, 10)}` : ""}.`;
}

const DISPLAY = {
  anemia: "Anaemia on iguratimod",
  "liver-injury": "Liver injury on iguratimod",
  "monitoring-overdue": "Iguratimod safety monitoring overdue",
} as const;

/** A value measured after the stop is not "on iguratimod" (docs/clinical-rules.md#7-safety). */
const DISPLAY_AFTER_STOP = {
  anemia: "Anaemia after iguratimod",
  "liver-injury": "Liver injury after iguratimod",
} as const;

function displayOf(finding: SafetyFinding | MonitoringFinding): string {
  if (finding.code === "monitoring-overdue") return DISPLAY[finding.code];
  return finding.afterStop ? DISPLAY_AFTER_STOP[finding.code] : DISPLAY[finding.code];
}

export function safetyCard(
  finding: SafetyFinding | MonitoringFinding,
  ctx: {
    readonly resources: readonly FhirResource[];
    readonly patientRef: string;
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
  },
): Card {
  const suggestions =
    finding.code === "monitoring-overdue"
      ? labOrderSuggestions(ctx.patientRef, finding.missing, "Iguratimod safety monitoring overdue")
      : finding.indicator === "critical"
        ? stopIguratimodSuggestions(
            ctx.resources,
            `${displayOf(finding)}, CTCAE v5.0 grade ${finding.grade}`,
          )
        : [];
  return findingCard(finding, {
    display: displayOf(finding),
    sourceUrl: finding.code === "monitoring-overdue" ? STUDY_URL : CTCAE_URL,
    criteria: RULES[finding.code](ctx.thresholds),
    lead: leadOf(finding),
    extraNotes: ctx.prefetchNotes,
    suggestions,
    overrides: "safety",
  });
}
