/**
 * Conditions → the lupus nephritis diagnosis and pregnancy (docs/clinical-rules.md#1-facts,
 * #3-who); refuted, entered-in-error, inactive and resolved conditions are not read.
 */
import type { Condition } from "fhir/r4.js";
import {
  ICD10_PREGNANT,
  INACTIVE_CONDITION_CLINICAL,
  LN_CODES,
  SNOMED_PREGNANT,
  UNREAD_CONDITION_VERIFICATION,
} from "../../clinical/codes.js";
import type { LnDiagnosis, PregnancyFact } from "../../clinical/facts.js";
import { parseFhirTime } from "../time.js";
import { codings, textOf } from "./values.js";

/**
 * The first active lupus nephritis condition (by id) and every active pregnancy condition, the
 * latter pushed onto `pregnancy`.
 */
export function readConditions(
  conditions: readonly Condition[],
  pregnancy: PregnancyFact[],
): LnDiagnosis | undefined {
  let lnDiagnosis: LnDiagnosis | undefined;
  let hasM321 = false;
  for (const c of conditions) {
    if (!conditionActive(c)) continue;
    for (const x of codings(c.code))
      if ((x.code ?? "").startsWith(LN_CODES.icd10M321Prefix)) hasM321 = true;
  }
  for (const c of [...conditions].sort((a, b) => ((a.id ?? "") < (b.id ?? "") ? -1 : 1))) {
    if (!conditionActive(c)) continue;
    if (!lnDiagnosis && isLupusNephritis(c, hasM321)) {
      const text = [textOf(c.code), ...codings(c.code).map((x) => x.display ?? "")]
        .join(" ")
        .trim();
      const m = /class\s+([IVX]+(?:\s*\+\s*[IVX]+)?)/i.exec(text);
      lnDiagnosis = { ref: `Condition/${c.id ?? ""}`, text, ...(m?.[1] ? { lnClass: m[1] } : {}) };
    }
    if (isPregnancyCondition(c)) {
      const t = parseFhirTime(c.onsetDateTime ?? c.onsetPeriod?.start ?? c.recordedDate);
      const end = parseFhirTime(c.abatementDateTime ?? c.abatementPeriod?.end);
      pregnancy.push({
        ref: `Condition/${c.id ?? ""}`,
        source: "condition",
        pregnant: true,
        time: t ?? 0,
        ...(end !== undefined ? { end } : {}),
      });
    }
  }
  return lnDiagnosis;
}

function conditionActive(c: Condition): boolean {
  const listed = (cc: Condition["clinicalStatus"], codes: ReadonlySet<string>) =>
    codings(cc).some((x) => x.code !== undefined && codes.has(x.code));
  if (listed(c.verificationStatus, UNREAD_CONDITION_VERIFICATION)) return false;
  return !listed(c.clinicalStatus, INACTIVE_CONDITION_CLINICAL);
}

function isLupusNephritis(c: Condition, patientHasM321: boolean): boolean {
  const cs = codings(c.code);
  for (const x of cs) {
    const sys = x.system ?? "";
    const code = x.code ?? "";
    if (sys.includes("icd-10") && (LN_CODES.icd10cm as readonly string[]).includes(code))
      return true;
    if (
      code === LN_CODES.icd10N085 &&
      (patientHasM321 || cs.some((y) => (y.code ?? "").startsWith(LN_CODES.icd10M321Prefix)))
    )
      return true;
    if (sys.includes("snomed") && (LN_CODES.snomed as readonly string[]).includes(code))
      return true;
  }
  const text = [textOf(c.code), ...cs.map((x) => x.display ?? "")].join(" ").toLowerCase();
  return (
    text.includes("lupus") && (text.includes("nephritis") || text.includes("glomerulonephritis"))
  );
}

function isPregnancyCondition(c: Condition): boolean {
  const cs = codings(c.code);
  if (cs.some((x) => x.code === SNOMED_PREGNANT || ICD10_PREGNANT.includes(x.code ?? "")))
    return true;
  const text = [textOf(c.code), ...cs.map((x) => x.display ?? "")].join(" ").toLowerCase();
  return /\bpregnan(t|cy)\b/.test(text) && !/\bnot pregnant\b/.test(text);
}
