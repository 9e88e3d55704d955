/** Typed facts the clinical rules read. Built from FHIR by src/fhir/normalise/; no FHIR JSON here. */
import type { Agent, LabKind } from "./codes.js";

export type Sex = "female" | "male" | "other" | "unknown";

export type DataQualityReason =
  | "unknown-unit"
  | "missing-unit"
  | "unconvertible-unit"
  | "status-not-final"
  | "no-time"
  | "inverse-ratio-code"
  | "absurd-value"
  | "absurd-date"
  | "no-value"
  | "superseded"
  | "unrecognised-medication"
  | "medication-status-ignored"
  | "medication-no-time"
  | "upcr-substituted"
  | "sediment-missing"
  | "prefetch-unavailable"
  | "prefetch-incomplete"
  | "not-this-patient"
  | "medication-unreadable"
  | "other";

export interface DataQualityNote {
  readonly reason: DataQualityReason;
  /** "Observation/x" etc. when a resource is concerned. */
  readonly ref?: string;
  /** The fact kind the ignored value would have been, so each rule can disclose its own. */
  readonly kind?: LabKind;
  readonly message: string;
}

export interface ReferenceLimits {
  readonly low?: number;
  readonly high?: number;
}

export interface LabFact {
  readonly kind: LabKind;
  readonly code: string;
  /** Value in the canonical unit of its kind (codes.ts CANONICAL_UNIT). */
  readonly value: number;
  readonly unit: string;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly ref: string;
  readonly status: string;
  readonly referenceRange?: ReferenceLimits;
  /** Original value and unit as recorded, for display. */
  readonly original: { readonly value: number; readonly unit: string };
}

export interface ReasonFact {
  readonly codes: readonly string[];
  readonly text: string;
}

export interface MedicationStatementFact {
  readonly agent: Agent;
  readonly ref: string;
  readonly start: number;
  /** undefined = ongoing. */
  readonly end?: number;
  readonly status: string;
  readonly reasons: readonly ReasonFact[];
}

export interface MedicationCourse {
  readonly agent: Agent;
  readonly start: number;
  /** undefined = ongoing. */
  readonly end?: number;
  readonly refs: readonly string[];
  /** Status of the latest statement of the course. */
  readonly status: string;
  /** statusReason of every statement of the course, and reasonCode of its stopped ones (docs/clinical-rules.md#4-prior-courses). */
  readonly reasons: readonly ReasonFact[];
}

export interface LnDiagnosis {
  readonly ref: string;
  readonly text: string;
  /** e.g. "III + V" when the Condition names a class. */
  readonly lnClass?: string;
}

export interface PregnancyFact {
  readonly ref: string;
  readonly source: "condition" | "observation";
  readonly pregnant: boolean;
  readonly time: number;
  /** Condition abatement, when recorded. */
  readonly end?: number;
}

export interface PatientFacts {
  readonly patientRef: string;
  readonly sex: Sex;
  /** ISO date (YYYY-MM-DD) when known. */
  readonly birthDate?: string;
  /** Age in whole years at an instant (epoch ms or Date), undefined without birth date. */
  ageAt(time: number | Date): number | undefined;
  /** Sorted by time, then ref (deterministic regardless of input order). */
  readonly labs: readonly LabFact[];
  /** Sorted by start, then agent. */
  readonly courses: readonly MedicationCourse[];
  readonly lnDiagnosis?: LnDiagnosis;
  readonly pregnancy: readonly PregnancyFact[];
  readonly notes: readonly DataQualityNote[];
}

export const DAY_MS = 86_400_000;
