/** Finding types returned by the rules; codes are those of docs/cds-contract.md#services. */
import type { LabKind } from "./codes.js";
import type { DataQualityNote, ReferenceLimits } from "./facts.js";

export type Indicator = "info" | "warning" | "critical";

/** The codes of the response rule (docs/clinical-rules.md#5-eligibility, #6-response). */
export type ResponseCode =
  | "response-interim"
  | "week24-complete-response"
  | "week24-partial-response"
  | "week24-no-response"
  | "week24-insufficient-data"
  | "week24-discontinued-early"
  | "iguratimod-stopped"
  | "renal-relapse"
  | "remission-maintained";

export type FindingCode =
  | "refractory-ln-eligible"
  | "refractory-ln-not-eligible"
  | "refractory-ln-insufficient-data"
  | ResponseCode
  | "anemia"
  | "liver-injury"
  | "monitoring-overdue"
  | "warfarin-interaction"
  | "baseline-labs-missing"
  | "dose-check"
  | "concurrent-immunosuppressant"
  | "pregnancy-contraindication"
  | "lab-contraindication"
  | "iguratimod-previously-tried"
  | "duplicate-therapy";

export interface DecidingValue {
  /** Human label, e.g. "week-24 proteinuria", "baseline hemoglobin". */
  readonly label: string;
  readonly kind: LabKind;
  readonly value: number;
  readonly unit: string;
  /** ISO instant. */
  readonly time: string;
  readonly ref: string;
  readonly referenceRange?: ReferenceLimits;
  /** As reported, before conversion (the precision a card may show, docs/clinical-rules.md#9-cards). */
  readonly original?: { readonly value: number; readonly unit: string };
}

export type Kang2020Verdict = "CR" | "PR" | "NR" | "insufficient-data";
export type Kdigo2024Verdict = "CR" | "PR" | "NR" | "insufficient-data";

export interface Criteria {
  readonly kang2020?: Kang2020Verdict;
  readonly kdigo2024?: Kdigo2024Verdict;
}

export interface Finding<C extends FindingCode = FindingCode> {
  readonly code: C;
  readonly indicator: Indicator;
  readonly decidingValues: readonly DecidingValue[];
  readonly criteria?: Criteria;
  /** CTCAE v5.0 grade (safety findings). */
  readonly grade?: number;
  /** "Observation/x", "MedicationStatement/y", "Condition/z" … the verdict rests on. */
  readonly evidence: readonly string[];
  readonly notes: readonly DataQualityNote[];
  /** One-line clinical summary (< 140 characters) a card may use. */
  readonly summary: string;
}

export function uniqueRefs(refs: Iterable<string>): string[] {
  return [...new Set(refs)];
}
