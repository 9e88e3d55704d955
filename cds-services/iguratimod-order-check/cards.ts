/**
 * Cards of iguratimod-order-check (clinical rules §8): eligibility, warfarin, pregnancy, missing
 * baseline labs, dose and concurrent immunosuppressants, each with what a clinician can do about
 * it: order the missing labs, change the draft to the study regimen, or remove the draft.
 */
import { randomUUID } from "node:crypto";
import type { MedicationRequest } from "fhir/r4.js";
import type {
  DataQualityNote,
  DoseCheckFinding,
  OrderCheckFinding,
  Thresholds,
} from "../../src/clinical/index.js";
import type { Card, Suggestion } from "../../src/hooks/schemas.js";
import { cell, findingCard, STUDY_URL } from "../shared/cards.js";
import { labOrderSuggestions, withoutEmptyValues } from "../shared/suggestions.js";
import { eligibilityCard } from "../shared/eligibility-card.js";

const DISPLAY = {
  "warfarin-interaction": "Iguratimod with warfarin",
  "baseline-labs-missing": "Baseline labs missing before iguratimod",
  "dose-check": "Iguratimod dose differs from the study regimen",
  "concurrent-immunosuppressant": "Another immunosuppressant still active",
  "pregnancy-contraindication": "Iguratimod in pregnancy",
} as const;

function criteriaOf(code: keyof typeof DISPLAY, t: Thresholds): string {
  switch (code) {
    case "warfarin-interaction":
      return "Iguratimod label (Japan): contraindicated with warfarin, whose effect it raises (serious bleeding). ln-cds clinical rules §8.";
    case "baseline-labs-missing":
      return `ln-cds clinical rules §8: hemoglobin, ALT and creatinine within ${t.orderLabLookbackDays.value} days before iguratimod starts, so the safety rules (§7) have a baseline.`;
    case "dose-check":
      return `kang2020 regimen: ${t.iguratimodStudyDoseMg.value} mg ${t.iguratimodStudyTimesPerDay.value === 2 ? "twice" : `${t.iguratimodStudyTimesPerDay.value} times`} daily; label maximum ${t.iguratimodMaxDailyDoseMg.value} mg/day. ln-cds clinical rules §8.`;
    case "concurrent-immunosuppressant":
      return "kang2020: iguratimod replaced the failed immunosuppressants; no combination was studied. ln-cds clinical rules §8.";
    case "pregnancy-contraindication":
      return "Iguratimod label: contraindicated in pregnancy (teratogenic in animal studies). An active pregnancy Condition, or the latest LOINC 82810-3 saying pregnant. ln-cds clinical rules §8.";
  }
}

function doseSection(f: DoseCheckFinding, t: Thresholds): string {
  const show = (v: number | undefined, unit: string) =>
    v === undefined ? "not stated" : `${v}${unit}`;
  return [
    "| | ordered | study (kang2020) |",
    "|---|---|---|",
    `| regimen | ${cell(f.regimenText)} | ${t.iguratimodStudyDoseMg.value} mg × ${t.iguratimodStudyTimesPerDay.value}/day |`,
    `| dose | ${show(f.doseMg, " mg")} | ${t.iguratimodStudyDoseMg.value} mg |`,
    `| times a day | ${show(f.timesPerDay, "")} | ${t.iguratimodStudyTimesPerDay.value} |`,
    `| daily dose | ${show(f.dailyDoseMg, " mg")} | ${t.iguratimodStudyDoseMg.value * t.iguratimodStudyTimesPerDay.value} mg (label maximum ${t.iguratimodMaxDailyDoseMg.value} mg) |`,
  ].join("\n");
}

/** Replace the draft's dosage by the study regimen (25 mg twice daily, by mouth). */
function studyRegimenSuggestion(draft: MedicationRequest, t: Thresholds): Suggestion[] {
  if (!draft.id) return [];
  const dose = t.iguratimodStudyDoseMg.value;
  const times = t.iguratimodStudyTimesPerDay.value;
  return [
    {
      label: `Change to ${dose} mg ${times === 2 ? "twice" : `${times} times`} daily (study regimen)`,
      uuid: randomUUID(),
      actions: [
        {
          type: "update",
          description: `Set the draft's dosage to ${dose} mg × ${times}/day`,
          resource: withoutEmptyValues({
            ...draft,
            dosageInstruction: [
              {
                text: `${dose} mg by mouth ${times === 2 ? "twice" : `${times} times`} daily`,
                timing: { repeat: { frequency: times, period: 1, periodUnit: "d" } },
                route: {
                  coding: [{ system: "http://snomed.info/sct", code: "26643006", display: "Oral" }],
                },
                doseAndRate: [
                  {
                    doseQuantity: {
                      value: dose,
                      unit: "mg",
                      system: "http://unitsofmeasure.org",
                      code: "mg",
                    },
                  },
                ],
              },
            ],
          }) as unknown as Record<string, unknown>,
        },
      ],
    },
  ];
}

/** On a contraindication: take the draft iguratimod order out of the basket. */
function removeDraftSuggestion(draft: MedicationRequest): Suggestion[] {
  if (!draft.id) return [];
  return [
    {
      label: "Remove the iguratimod order",
      uuid: randomUUID(),
      actions: [
        {
          type: "delete",
          description: "Delete the draft iguratimod MedicationRequest",
          resourceId: `MedicationRequest/${draft.id}`,
        },
      ],
    },
  ];
}

export function orderCheckCard(
  f: OrderCheckFinding,
  ctx: {
    readonly patientRef: string;
    readonly draft: MedicationRequest;
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
  },
): Card {
  const t = ctx.thresholds;
  if (
    f.code === "refractory-ln-eligible" ||
    f.code === "refractory-ln-not-eligible" ||
    f.code === "refractory-ln-insufficient-data"
  ) {
    return eligibilityCard(
      { ...f, indicator: "info" },
      { ...ctx, indicator: f.indicator, overrides: "order" },
    );
  }
  const suggestions =
    f.code === "baseline-labs-missing"
      ? labOrderSuggestions(
          ctx.patientRef,
          f.missing,
          "Baseline before iguratimod (ln-cds clinical rules §8)",
        )
      : f.code === "dose-check"
        ? studyRegimenSuggestion(ctx.draft, t)
        : f.indicator === "critical"
          ? removeDraftSuggestion(ctx.draft)
          : [];
  return findingCard(f, {
    display: DISPLAY[f.code],
    sourceUrl: STUDY_URL,
    criteria: criteriaOf(f.code, t),
    ...(f.code === "dose-check" ? { sections: [doseSection(f, t)] } : {}),
    extraNotes: ctx.prefetchNotes,
    suggestions,
    overrides: "order",
  });
}
