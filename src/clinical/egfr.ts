/** CKD-EPI 2021 creatinine equation, race-free (docs/clinical-rules.md#1-facts). Adults only. */
import type { Sex } from "./facts.js";

export function egfrCkdEpi2021(scrMgDl: number, ageYears: number, sex: Sex): number | undefined {
  if (!(scrMgDl > 0) || !(ageYears >= 18)) return undefined;
  const female = sex === "female";
  const kappa = female ? 0.7 : 0.9;
  const alpha = female ? -0.241 : -0.302;
  const r = scrMgDl / kappa;
  const egfr =
    142 *
    Math.min(r, 1) ** alpha *
    Math.max(r, 1) ** -1.2 *
    0.9938 ** ageYears *
    (female ? 1.012 : 1);
  return Math.round(egfr * 10) / 10;
}

/** umol/L → mg/dL through the molecular weight 113.12 (88.4 umol/L per mg/dL). */
export function creatinineUmolToMgDl(umolL: number): number {
  return (umolL * 113.12) / 10_000;
}
