/**
 * Cards of the iguratimod order check (docs/clinical-rules.md#8-ordering), written for a narrow
 * EHR panel (docs/clinical-rules.md#9-cards): the deciding facts first, each with its date, in
 * tables of at most four columns with a header row; record ids stay in the extension's evidence.
 * Each card offers what a clinician can do: order the missing labs, change the draft to the study
 * regimen, or take the draft out of the basket.
 */
import { randomUUID } from "node:crypto";
import type { MedicationRequest } from "fhir/r4.js";
import {
  BASELINE_WORDS,
  criticalValueWords,
  DAY_MS,
  formatMg,
  SNOMED_ORAL_ROUTE,
  SNOMED_SYSTEM,
  timesWords,
  UCUM_SYSTEM,
  type BaselineLab,
  type DataQualityNote,
  type DoseCheckFinding,
  type JudgedDoseLine,
  type LabContraindicationFinding,
  type OrderCheckFinding,
  type PregnancyFinding,
  type PreviouslyTriedFinding,
  type RecordShown,
  type Thresholds,
} from "../../src/clinical/index.js";
import type { Card, Suggestion } from "../../src/hooks/schemas.js";
import { cell, CTCAE_URL, findingCard, STUDY_URL } from "../shared/cards.js";
import {
  labOrderSuggestions,
  withoutEmptyValues,
  type OrderableLab,
} from "../shared/suggestions.js";
import { eligibilityCard } from "../shared/eligibility-card.js";

type OwnCode = Exclude<
  OrderCheckFinding["code"],
  "refractory-ln-eligible" | "refractory-ln-not-eligible" | "refractory-ln-insufficient-data"
>;

const DISPLAY: Readonly<Record<OwnCode, string>> = {
  "warfarin-interaction": "Iguratimod with warfarin",
  "baseline-labs-missing": "Baseline labs missing before iguratimod",
  "dose-check": "Iguratimod dose",
  "concurrent-immunosuppressant": "Another immunosuppressant still active",
  "pregnancy-contraindication": "Iguratimod in pregnancy",
  "lab-contraindication": "Hemoglobin or ALT before iguratimod",
  "iguratimod-previously-tried": "Iguratimod tried before",
  "duplicate-therapy": "Iguratimod already active",
};

const LAB_OF: Readonly<Record<BaselineLab, OrderableLab>> = {
  hemoglobin: "hemoglobin",
  alt: "alt",
  creatinine: "creatinine",
  proteinuria: "protein24h",
  albumin: "albumin",
  urineSediment: "urineSediment",
};

const day = (isoInstant: string) => isoInstant.slice(0, 10);

function criteriaOf(code: OwnCode, t: Thresholds): string {
  const max = formatMg(t.iguratimodMaxDailyDoseMg.value);
  const study = `${formatMg(t.iguratimodStudyDoseMg.value)} mg ${timesWords(t.iguratimodStudyTimesPerDay.value)}`;
  switch (code) {
    case "warfarin-interaction":
      return "Iguratimod label (Japan): contraindicated with warfarin, whose effect it raises (serious bleeding).";
    case "baseline-labs-missing":
      return (
        `Within ${t.orderLabLookbackDays.value} days before the first dose: hemoglobin, ALT and creatinine, so that ` +
        "anaemia and liver injury on iguratimod can be graded against a baseline (CTCAE v5.0); proteinuria, albumin " +
        "and urine sediment, so that the week-24 response can be judged against a baseline (kang2020)."
      );
    case "dose-check":
      return (
        `kang2020 regimen: ${study}. Iguratimod label (Japan): ${formatMg(t.iguratimodStudyDoseMg.value)} mg once ` +
        `daily for 4 weeks, then ${study}; at most ${max} mg a day. The daily dose adds every dosage line given at ` +
        "the same time and every iguratimod order being placed; a dose in tablets counts the product's strength."
      );
    case "concurrent-immunosuppressant":
      return "kang2020: iguratimod replaced the failed immunosuppressants; no combination was studied.";
    case "pregnancy-contraindication":
      return "Iguratimod label: contraindicated in pregnancy (teratogenic in animal studies).";
    case "lab-contraindication":
      return (
        `CTCAE v5.0: anaemia grade 2 is Hb below ${t.anemiaGrade2Below.value} g/L, grade 3 below ` +
        `${t.anemiaGrade3Below.value} g/L; ALT grade 2 is above ${t.liverGrade2AboveMultiple.value}×ULN, grade 3 above ` +
        `${t.liverGrade3AboveMultiple.value}×ULN. Anaemia and liver injury are the known harms of iguratimod ` +
        "(kang2020 safety profile; labels): grade 3 is a reason not to start, grade 2 one to look first."
      );
    case "iguratimod-previously-tried":
      return (
        "kang2020 studied patients new to iguratimod. A course that was not tolerated (stopped for an adverse " +
        "event, or a grade-3 anaemia or liver injury during it) is critical; one that failed or relapsed a warning."
      );
    case "duplicate-therapy":
      return `Iguratimod label (Japan): at most ${max} mg a day in total; one order at a time.`;
  }
}

const RECORD_WORDS: Readonly<Record<string, string>> = {
  MedicationStatement: "medication statement",
  MedicationRequest: "medication order",
  Condition: "problem list",
  Observation: "observation",
};

/** Which record, since when, with what status: the evidence a clinician checks (no ids shown). */
function recordsTable(records: readonly RecordShown[]): string {
  return [
    "| medicine | record | since | status |",
    "|---|---|---|---|",
    ...records.map(
      (r) =>
        `| ${cell(r.agent)} | ${RECORD_WORDS[r.ref.split("/")[0] ?? ""] ?? "record"} | ${day(r.since)} | ${cell(r.status)} |`,
    ),
  ].join("\n");
}

function pregnancyTable(f: PregnancyFinding): string {
  return [
    "| record | recorded | says |",
    "|---|---|---|",
    ...f.records.map((r) =>
      r.source === "condition"
        ? `| problem list: pregnancy | ${day(r.since)} | active |`
        : `| pregnancy status (LOINC 82810-3) | ${day(r.since)} | pregnant |`,
    ),
  ].join("\n");
}

function labTable(f: LabContraindicationFinding): string {
  return [
    "| test | date | result | CTCAE grade |",
    "|---|---|---|---|",
    ...f.labs.map((l) =>
      l.kind === "hemoglobin"
        ? `| hemoglobin | ${day(l.value.time)} | ${l.shown} g/L (LLN ${l.limit}) | ${l.grade} |`
        : `| ALT | ${day(l.value.time)} | ${l.shown} U/L (${Math.round((l.value.value / l.limit) * 10) / 10}× ULN ${l.limit}) | ${l.grade} |`,
    ),
  ].join("\n");
}

function previousTable(f: PreviouslyTriedFinding, t: Thresholds): string {
  return [
    "| course | days | outcome | stop reason |",
    "|---|---|---|---|",
    ...f.courses.map((p) => {
      const critical = p.criticalValue
        ? `; ${criticalValueWords(p.criticalValue, t)} on ${day(p.criticalValue.time)} (grade ${p.criticalValue.grade})`
        : "";
      const outcome = p.intolerance
        ? "intolerance"
        : p.outcome.outcome === "too-short"
          ? "too short to judge"
          : p.outcome.outcome;
      return `| ${day(p.outcome.start)} to ${p.outcome.end ? day(p.outcome.end) : "?"} | ${p.outcome.durationDays} | ${cell(outcome + critical)} | ${cell(p.stopReason ?? "not recorded")} |`;
    }),
  ].join("\n");
}

function lineLabel(l: JudgedDoseLine, drafts: number): string {
  const parts = [
    drafts > 1 ? `order ${l.draft}` : "",
    l.sequence !== undefined ? `step ${l.sequence}` : "",
  ];
  return parts.filter((x) => x !== "").join(", ") || "order";
}

function lineResult(l: JudgedDoseLine): string {
  if (l.status === "unreadable") return `cannot be read: ${l.why ?? ""}`;
  if (l.status === "not-stated")
    return l.mgPerDose !== undefined
      ? `${formatMg(l.mgPerDose)} mg a dose; how often not stated`
      : "no dose stated";
  const tablets = l.tablets
    ? `${formatMg(l.tablets.count)} × ${formatMg(l.tablets.strengthMg)} mg tablet = `
    : "";
  return `${tablets}${formatMg(l.mgPerDose ?? 0)} mg × ${formatMg(l.timesPerDay ?? 0)}/day = **${formatMg(l.mgPerDay ?? 0)} mg/day**`;
}

function doseTable(f: DoseCheckFinding): string {
  const rows = f.lines.map(
    (l) => `| ${lineLabel(l, f.drafts)} | ${cell(l.sent)} | ${cell(lineResult(l))} |`,
  );
  const totals =
    f.steps.length > 1 || f.lines.length > 1
      ? f.steps.map((s) => {
          const atLeast = s.lines.some((l) => l.status !== "readable") ? "at least " : "";
          return `| **total**${f.steps.length > 1 ? ` step ${s.step}` : ""} | | **${atLeast}${formatMg(s.mgPerDay)} mg/day** |`;
        })
      : [];
  return ["| order | as sent | read as |", "|---|---|---|", ...rows, ...totals].join("\n");
}

function sectionsOf(f: OrderCheckFinding, now: Date, t: Thresholds): string[] {
  switch (f.code) {
    case "warfarin-interaction":
    case "duplicate-therapy":
    case "concurrent-immunosuppressant":
      return [recordsTable(f.records)];
    case "pregnancy-contraindication":
      return [pregnancyTable(f)];
    case "lab-contraindication":
      return [labTable(f)];
    case "iguratimod-previously-tried":
      return [previousTable(f, t)];
    case "dose-check":
      return [
        `${f.drafts > 1 ? `${f.drafts} draft orders` : "Draft order"} of ${day(now.toISOString())}, read line by line:`,
        doseTable(f),
      ];
    case "baseline-labs-missing": {
      const present = f.decidingValues.map(
        (v) => `| ${cell(v.label.replace(/^recent /, ""))} | ${day(v.time)} |`,
      );
      const since = new Date(now.getTime() - t.orderLabLookbackDays.value * DAY_MS);
      return [
        `**Not measured since ${day(since.toISOString())}** (${t.orderLabLookbackDays.value} days): ${f.missing.map((m) => BASELINE_WORDS[m]).join(", ")}.`,
        ...(present.length > 0 ? [["| present | date |", "|---|---|", ...present].join("\n")] : []),
      ];
    }
    case "refractory-ln-eligible":
    case "refractory-ln-not-eligible":
    case "refractory-ln-insufficient-data":
      return [];
  }
}

/** Replace the drafts' dosage by the study regimen: one draft at 25 mg twice daily, by mouth. */
function studyRegimenSuggestion(drafts: readonly MedicationRequest[], t: Thresholds): Suggestion[] {
  const [first, ...rest] = drafts;
  if (!first?.id || rest.some((d) => !d.id)) return [];
  const dose = t.iguratimodStudyDoseMg.value;
  const times = t.iguratimodStudyTimesPerDay.value;
  return [
    {
      label: `Change to ${formatMg(dose)} mg ${timesWords(times)} (study regimen)`,
      uuid: randomUUID(),
      actions: [
        {
          type: "update",
          description: `Set the draft's dosage to ${formatMg(dose)} mg ${timesWords(times)}`,
          resource: withoutEmptyValues({
            ...first,
            dosageInstruction: [
              {
                text: `${formatMg(dose)} mg by mouth ${timesWords(times)}`,
                timing: { repeat: { frequency: times, period: 1, periodUnit: "d" } },
                route: {
                  coding: [{ system: SNOMED_SYSTEM, ...SNOMED_ORAL_ROUTE }],
                },
                doseAndRate: [
                  {
                    doseQuantity: {
                      value: dose,
                      unit: "mg",
                      system: UCUM_SYSTEM,
                      code: "mg",
                    },
                  },
                ],
              },
            ],
          }) as unknown as Record<string, unknown>,
        },
        ...rest.map((d) => ({
          type: "delete" as const,
          description: "Delete the other draft iguratimod order (the doses would add up)",
          resourceId: `MedicationRequest/${d.id ?? ""}`,
        })),
      ],
    },
  ];
}

/** On a contraindication: take the draft iguratimod order(s) out of the basket. */
function removeDraftSuggestion(drafts: readonly MedicationRequest[]): Suggestion[] {
  const ids = drafts.flatMap((d) => (d.id ? [d.id] : []));
  if (ids.length === 0) return [];
  return [
    {
      label: ids.length > 1 ? "Remove the iguratimod orders" : "Remove the iguratimod order",
      uuid: randomUUID(),
      actions: ids.map((id) => ({
        type: "delete" as const,
        description: "Delete the draft iguratimod MedicationRequest",
        resourceId: `MedicationRequest/${id}`,
      })),
    },
  ];
}

function suggestionsOf(
  f: OrderCheckFinding,
  ctx: {
    readonly patientRef: string;
    readonly drafts: readonly MedicationRequest[];
    readonly thresholds: Thresholds;
  },
): Suggestion[] {
  switch (f.code) {
    case "baseline-labs-missing":
      return labOrderSuggestions(
        ctx.patientRef,
        f.missing.map((m) => LAB_OF[m]),
        "Baseline before iguratimod",
      );
    case "dose-check":
      return studyRegimenSuggestion(ctx.drafts, ctx.thresholds);
    case "duplicate-therapy":
      return removeDraftSuggestion(ctx.drafts);
    case "warfarin-interaction":
    case "pregnancy-contraindication":
    case "lab-contraindication":
    case "iguratimod-previously-tried":
    case "concurrent-immunosuppressant":
    case "refractory-ln-eligible":
    case "refractory-ln-not-eligible":
    case "refractory-ln-insufficient-data":
      return f.indicator === "critical" ? removeDraftSuggestion(ctx.drafts) : [];
  }
}

export function orderCheckCard(
  f: OrderCheckFinding,
  ctx: {
    readonly patientRef: string;
    /** Every iguratimod draft of the request, in order. */
    readonly drafts: readonly MedicationRequest[];
    readonly thresholds: Thresholds;
    readonly prefetchNotes: readonly DataQualityNote[];
    /** The hook's clock: the day the drafts are checked. */
    readonly now: Date;
  },
): Card {
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
  // The card's own tables show the deciding values compactly; ids stay in the evidence.
  return findingCard(
    { ...f, decidingValues: [] },
    {
      display: DISPLAY[f.code],
      sourceUrl: f.code === "lab-contraindication" ? CTCAE_URL : STUDY_URL,
      criteria: criteriaOf(f.code, ctx.thresholds),
      sections: sectionsOf(f, ctx.now, ctx.thresholds),
      extraNotes: ctx.prefetchNotes,
      suggestions: suggestionsOf(f, ctx),
      overrides: "order",
    },
  );
}
