/** §8 Checks when a draft order holds iguratimod (order-select / order-sign). */
import { IMMUNOSUPPRESSANTS, type Agent, type LabKind } from "./codes.js";
import { refractoryEligibility, type EligibilityFinding } from "./eligibility.js";
import type { DataQualityNote, PatientFacts } from "./facts.js";
import { uniqueRefs, type DecidingValue, type Finding } from "./findings.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import { days, decidingValue, factNotes, labsOf } from "./timeline.js";

/** The draft order as the rules need it (built by src/fhir/normalise.ts normaliseDraftOrder). */
export interface DraftOrderFacts {
  readonly ref: string;
  readonly isIguratimod: boolean;
  readonly doseMg?: number;
  readonly timesPerDay?: number;
  readonly dailyDoseMg?: number;
  readonly regimenText: string;
  readonly notes: readonly DataQualityNote[];
}

export type OrderCheckFinding =
  | EligibilityOrderFinding
  | Finding<"warfarin-interaction">
  | BaselineLabsMissingFinding
  | DoseCheckFinding
  | ConcurrentImmunosuppressantFinding
  | Finding<"pregnancy-contraindication">;

export interface EligibilityOrderFinding
  extends
    Omit<EligibilityFinding, "indicator">,
    Finding<
      "refractory-ln-eligible" | "refractory-ln-not-eligible" | "refractory-ln-insufficient-data"
    > {}

/** Labs to order, so cards can suggest ServiceRequests (LOINC code of each). */
export const BASELINE_LAB_ORDERS: Readonly<
  Record<"hemoglobin" | "alt" | "creatinine", { loinc: string; display: string }>
> = {
  hemoglobin: { loinc: "718-7", display: "Hemoglobin [Mass/volume] in Blood" },
  alt: {
    loinc: "1742-6",
    display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
  },
  creatinine: { loinc: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma" },
};

export interface BaselineLabsMissingFinding extends Finding<"baseline-labs-missing"> {
  readonly missing: readonly ("hemoglobin" | "alt" | "creatinine")[];
}

export interface DoseCheckFinding extends Finding<"dose-check"> {
  readonly doseMg?: number;
  readonly timesPerDay?: number;
  readonly dailyDoseMg?: number;
  readonly regimenText: string;
  readonly reasons: readonly ("above-max-daily-dose" | "not-study-regimen" | "dose-not-stated")[];
}

export interface ConcurrentImmunosuppressantFinding extends Finding<"concurrent-immunosuppressant"> {
  readonly agents: readonly Agent[];
}

function activeCourses(facts: PatientFacts, n: number, pred: (a: Agent) => boolean) {
  return facts.courses.filter(
    (c) => pred(c.agent) && c.start <= n && (c.end === undefined || c.end >= n),
  );
}

/** All §8 checks; an empty list when the draft is not iguratimod. */
export function iguratimodOrderChecks(
  facts: PatientFacts,
  draft: DraftOrderFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): OrderCheckFinding[] {
  if (!draft.isIguratimod) return [];
  const t = thresholds;
  const n = now.getTime();
  const out: OrderCheckFinding[] = [];

  const elig = refractoryEligibility(facts, now, t);
  if (elig) out.push({ ...elig, indicator: elig.verdict === "eligible" ? "info" : "warning" });

  const warfarin = activeCourses(facts, n, (a) => a === "warfarin");
  if (warfarin.length > 0) {
    out.push({
      code: "warfarin-interaction",
      indicator: "critical",
      decidingValues: [],
      evidence: uniqueRefs(warfarin.flatMap((c) => c.refs)),
      notes: [],
      summary:
        "Warfarin is active: iguratimod is contraindicated with warfarin (bleeding; Japanese label)",
    });
  }

  const from = n - days(t.orderLabLookbackDays.value);
  const missing: ("hemoglobin" | "alt" | "creatinine")[] = [];
  const dv: DecidingValue[] = [];
  for (const k of ["hemoglobin", "alt", "creatinine"] as const satisfies readonly LabKind[]) {
    const recent = labsOf(facts, k, from, n).at(-1);
    if (recent) dv.push(decidingValue(`recent ${k}`, recent));
    else missing.push(k);
  }
  if (missing.length > 0) {
    out.push({
      code: "baseline-labs-missing",
      indicator: "warning",
      missing,
      decidingValues: dv,
      evidence: dv.map((d) => d.ref),
      notes: factNotes(facts, ["hemoglobin", "alt", "creatinine"]),
      summary: `No ${missing.join(", ")} in the last ${t.orderLabLookbackDays.value} days before starting iguratimod`,
    });
  }

  const reasons: DoseCheckFinding["reasons"][number][] = [];
  const studyDose = t.iguratimodStudyDoseMg.value;
  const studyTimes = t.iguratimodStudyTimesPerDay.value;
  if (draft.dailyDoseMg !== undefined && draft.dailyDoseMg > t.iguratimodMaxDailyDoseMg.value)
    reasons.push("above-max-daily-dose");
  if (draft.doseMg === undefined || draft.timesPerDay === undefined)
    reasons.push("dose-not-stated");
  else if (draft.doseMg !== studyDose || draft.timesPerDay !== studyTimes)
    reasons.push("not-study-regimen");
  if (reasons.length > 0) {
    out.push({
      code: "dose-check",
      indicator: "warning",
      ...(draft.doseMg !== undefined ? { doseMg: draft.doseMg } : {}),
      ...(draft.timesPerDay !== undefined ? { timesPerDay: draft.timesPerDay } : {}),
      ...(draft.dailyDoseMg !== undefined ? { dailyDoseMg: draft.dailyDoseMg } : {}),
      regimenText: draft.regimenText,
      reasons,
      decidingValues: [],
      evidence: [draft.ref],
      notes: draft.notes,
      summary: reasons.includes("above-max-daily-dose")
        ? `Iguratimod ${draft.dailyDoseMg} mg/day exceeds the label maximum of ${t.iguratimodMaxDailyDoseMg.value} mg/day`
        : `Iguratimod regimen "${draft.regimenText}" differs from the study's ${studyDose} mg twice daily`,
    });
  }

  const others = activeCourses(facts, n, (a) => IMMUNOSUPPRESSANTS.has(a));
  if (others.length > 0) {
    const agents = [...new Set(others.map((c) => c.agent))];
    out.push({
      code: "concurrent-immunosuppressant",
      indicator: "info",
      agents,
      decidingValues: [],
      evidence: uniqueRefs(others.flatMap((c) => c.refs)),
      notes: [],
      summary: `Still active: ${agents.join(", ")}. In kang2020 iguratimod replaced prior immunosuppressants`,
    });
  }

  const preg = activePregnancy(facts, now, t);
  if (preg.length > 0) {
    out.push({
      code: "pregnancy-contraindication",
      indicator: "critical",
      decidingValues: [],
      evidence: preg,
      notes: [],
      summary: "Active pregnancy: iguratimod is contraindicated in pregnancy",
    });
  }
  return out;
}

/**
 * Refs that make a pregnancy active at `now`: a pregnancy Condition without abatement before now, or
 * the latest LOINC 82810-3 status saying pregnant (within 280 days) with no later "not pregnant".
 */
export function activePregnancy(
  facts: PatientFacts,
  now: Date,
  t: Thresholds = defaultThresholds,
): string[] {
  const n = now.getTime();
  const refs: string[] = [];
  for (const p of facts.pregnancy) {
    if (p.source === "condition" && p.pregnant && p.time <= n && (p.end === undefined || p.end > n))
      refs.push(p.ref);
  }
  const obs = facts.pregnancy.filter((p) => p.source === "observation" && p.time <= n);
  const last = obs.at(-1);
  if (last?.pregnant && n - last.time <= days(t.pregnancyObservationValidDays.value))
    refs.push(last.ref);
  return refs;
}
