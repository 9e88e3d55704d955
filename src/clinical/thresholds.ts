/**
 * Every clinical threshold of docs/clinical-rules.md, with the source it comes from.
 * A site may pass its own copy to any rule; the defaults are the published values.
 */
import type { LabKind } from "./codes.js";

export type ThresholdSource =
  | "kang2020"
  | "kdigo2024"
  | "CTCAE v5.0"
  | "label-ja"
  | "label-cn"
  | "WHO"
  | "WS/T 404.1"
  | "ln-cds"
  /** Set by the site (CLINICAL_THRESHOLDS), replacing the published value. */
  | "site";

export interface Threshold {
  readonly value: number;
  readonly unit: string;
  readonly source: ThresholdSource;
}

const t = (value: number, unit: string, source: ThresholdSource): Threshold => ({
  value,
  unit,
  source,
});

export const defaultThresholds = {
  // docs/clinical-rules.md#2-medications courses
  courseMergeGapDays: t(30, "d", "ln-cds"),
  // docs/clinical-rules.md#4-prior-courses course outcome
  courseMinDurationDays: t(182, "d", "kang2020"),
  courseBaselineBeforeDays: t(90, "d", "ln-cds"),
  courseBaselineAfterDays: t(14, "d", "ln-cds"),
  courseWindowAfterEndDays: t(30, "d", "ln-cds"),
  crProteinBelow: t(0.3, "g/(24.h)", "kang2020"),
  prProteinAtMost: t(2.0, "g/(24.h)", "kang2020"),
  prProteinFractionOfBaselineAtMost: t(0.5, "1", "kang2020"),
  flareAfterCrProteinAbove: t(0.5, "g/(24.h)", "kang2020"),
  flareAfterPrMultipleOfLowest: t(2, "1", "kang2020"),
  flareAfterPrProteinAtLeast: t(1.0, "g/(24.h)", "kang2020"),
  // docs/clinical-rules.md#5-eligibility eligibility
  eligibilityMinFailedAgents: t(2, "1", "kang2020"),
  eligibilityProteinAtLeast: t(1.0, "g/(24.h)", "kang2020"),
  eligibilityProteinLookbackDays: t(90, "d", "kang2020"),
  // docs/clinical-rules.md#6-response week 24
  responseBaselineBeforeDays: t(30, "d", "ln-cds"),
  responseBaselineAfterDays: t(7, "d", "ln-cds"),
  assessmentDay: t(168, "d", "kang2020"),
  assessmentWindowStartDay: t(140, "d", "kang2020"),
  assessmentWindowEndDay: t(196, "d", "kang2020"),
  companionLabWindowDays: t(14, "d", "ln-cds"),
  crUrineRbcAtMost: t(5, "/[HPF]", "kang2020"),
  prAlbuminAbove: t(30, "g/L", "kang2020"),
  prCreatinineFractionOfBaselineAtMost: t(1.25, "1", "kang2020"),
  nephriticFlareCreatinineFraction: t(1.3, "1", "kang2020"),
  nephriticFlareUrineRbcAbove: t(5, "/[HPF]", "kang2020"),
  kdigoCrProteinBelow: t(0.5, "g/g", "kdigo2024"),
  kdigoPrReductionAtLeast: t(0.5, "1", "kdigo2024"),
  kdigoPrProteinBelow: t(3, "g/g", "kdigo2024"),
  kdigoEgfrMaxFallFraction: t(0.15, "1", "kdigo2024"),
  // docs/clinical-rules.md#1-facts plausibility: a result outside these bounds (canonical units) is no lab's real result (a
  // unit slip, a test value, a typing error); it is ignored and named in the data-quality notes,
  // never graded. Set wide, beyond the extremes reported in survivors, so that no real value
  // is lost: Hb 10–250 g/L, ALT ≤ 10,000 U/L (acute liver failure reaches several thousand),
  // creatinine 5–3,000 µmol/L, proteinuria ≤ 50 g/24h (and UPCR ≤ 50 g/g), albumin 5–80 g/L,
  // urine RBC ≤ 1,000/HPF (beyond "too numerous to count"), casts ≤ 200/LPF, eGFR 1–250.
  plausibleHemoglobinMin: t(10, "g/L", "ln-cds"),
  plausibleHemoglobinMax: t(250, "g/L", "ln-cds"),
  plausibleAltMin: t(0, "U/L", "ln-cds"),
  plausibleAltMax: t(10_000, "U/L", "ln-cds"),
  plausibleCreatinineMin: t(5, "umol/L", "ln-cds"),
  plausibleCreatinineMax: t(3000, "umol/L", "ln-cds"),
  plausibleProtein24hMin: t(0, "g/(24.h)", "ln-cds"),
  plausibleProtein24hMax: t(50, "g/(24.h)", "ln-cds"),
  plausibleUpcrMin: t(0, "g/g", "ln-cds"),
  plausibleUpcrMax: t(50, "g/g", "ln-cds"),
  plausibleAlbuminMin: t(5, "g/L", "ln-cds"),
  plausibleAlbuminMax: t(80, "g/L", "ln-cds"),
  plausibleUrineRbcMin: t(0, "/[HPF]", "ln-cds"),
  plausibleUrineRbcMax: t(1000, "/[HPF]", "ln-cds"),
  plausibleRbcCastsMin: t(0, "/[LPF]", "ln-cds"),
  plausibleRbcCastsMax: t(200, "/[LPF]", "ln-cds"),
  plausibleEgfrMin: t(1, "mL/min/{1.73_m2}", "ln-cds"),
  plausibleEgfrMax: t(250, "mL/min/{1.73_m2}", "ln-cds"),
  // docs/clinical-rules.md#1-facts default reference limits
  hemoglobinLlnFemale: t(120, "g/L", "WHO"),
  hemoglobinLlnMale: t(130, "g/L", "WHO"),
  hemoglobinLlnOther: t(120, "g/L", "WHO"),
  altUlnFemale: t(40, "U/L", "WS/T 404.1"),
  altUlnMale: t(50, "U/L", "WS/T 404.1"),
  altUlnOther: t(40, "U/L", "WS/T 404.1"),
  creatinineUlnFemale: t(97, "umol/L", "ln-cds"),
  creatinineUlnMale: t(115, "umol/L", "ln-cds"),
  creatinineUlnOther: t(97, "umol/L", "ln-cds"),
  // docs/clinical-rules.md#7-safety safety
  safetyBaselineBeforeDays: t(60, "d", "ln-cds"),
  safetyAfterStopDays: t(30, "d", "ln-cds"),
  anemiaGrade2Below: t(100, "g/L", "CTCAE v5.0"),
  anemiaGrade3Below: t(80, "g/L", "CTCAE v5.0"),
  anemiaFallWarningAtLeast: t(20, "g/L", "ln-cds"),
  // A grade-1 Hb within this fall of its baseline is pre-existing anaemia: no finding.
  anemiaFallInfoAtLeast: t(10, "g/L", "ln-cds"),
  liverGrade1BaselineMultiple: t(1.5, "1", "CTCAE v5.0"),
  liverGrade2AboveMultiple: t(3, "1", "CTCAE v5.0"),
  liverGrade3AboveMultiple: t(5, "1", "CTCAE v5.0"),
  liverGrade4AboveMultiple: t(20, "1", "CTCAE v5.0"),
  altStopAtLeast: t(100, "U/L", "label-ja"),
  altReduceDoseAboveUlnMultiple: t(2, "1", "label-cn"),
  monitoringIntervalDays: t(35, "d", "label-cn"),
  // kang2020 monitored every 1–3 months: a last value older than that is a warning.
  monitoringWarningAfterDays: t(90, "d", "kang2020"),
  // docs/clinical-rules.md#8-ordering order checks
  orderLabLookbackDays: t(30, "d", "ln-cds"),
  iguratimodMaxDailyDoseMg: t(50, "mg", "label-ja"),
  /** ≥ this multiple of the label maximum (100 mg/day) is critical. */
  iguratimodCriticalMultipleOfMax: t(2, "1", "label-ja"),
  /** The label's first step, 25 mg once daily for four weeks, is not flagged. */
  iguratimodFirstStepTimesPerDay: t(1, "/d", "label-ja"),
  /** A draft amount above this (per administration or per day) is a data error, not a dose. */
  iguratimodDoseReadableAtMostMg: t(10000, "mg", "ln-cds"),
  iguratimodStudyDoseMg: t(25, "mg", "kang2020"),
  iguratimodStudyTimesPerDay: t(2, "/d", "kang2020"),
  pregnancyObservationValidDays: t(280, "d", "ln-cds"),
} as const satisfies Record<string, Threshold>;

export type Thresholds = { readonly [K in keyof typeof defaultThresholds]: Threshold };

export type ThresholdName = keyof typeof defaultThresholds;
export const THRESHOLD_NAMES = Object.keys(defaultThresholds) as ThresholdName[];

/**
 * The defaults with a site's values in place of some (config CLINICAL_THRESHOLDS). Units stay
 * those of the default; the source of a replaced value becomes "site" so cards never cite a
 * study for a number the study did not give.
 */
export function withOverrides(
  overrides: Readonly<Partial<Record<ThresholdName, number>>>,
  base: Thresholds = defaultThresholds,
): Thresholds {
  const out: Record<string, Threshold> = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    const current = out[name];
    if (current) out[name] = { ...current, value, source: "site" };
  }
  return out as Thresholds;
}

/** The thresholds bounding each fact kind (made once: the look-up runs for every lab). */
const PLAUSIBLE_BOUNDS: Readonly<Record<LabKind, readonly [ThresholdName, ThresholdName]>> = {
  hemoglobin: ["plausibleHemoglobinMin", "plausibleHemoglobinMax"],
  alt: ["plausibleAltMin", "plausibleAltMax"],
  creatinine: ["plausibleCreatinineMin", "plausibleCreatinineMax"],
  protein24h: ["plausibleProtein24hMin", "plausibleProtein24hMax"],
  upcr: ["plausibleUpcrMin", "plausibleUpcrMax"],
  albumin: ["plausibleAlbuminMin", "plausibleAlbuminMax"],
  urineRbc: ["plausibleUrineRbcMin", "plausibleUrineRbcMax"],
  rbcCasts: ["plausibleRbcCastsMin", "plausibleRbcCastsMax"],
  egfr: ["plausibleEgfrMin", "plausibleEgfrMax"],
};

/** The plausibility bounds of one fact kind, in its canonical unit (docs/clinical-rules.md#1-facts). */
export function plausibleRange(
  kind: LabKind,
  t: Thresholds = defaultThresholds,
): { readonly min: Threshold; readonly max: Threshold } {
  const [min, max] = PLAUSIBLE_BOUNDS[kind];
  return { min: t[min], max: t[max] };
}
