/** Small readers of FHIR values that every part of the normaliser shares. */
import type { CodeableConcept, Coding } from "fhir/r4.js";

/** The earliest date a clinical record can carry; anything before it is a data error. */
export const MIN_TIME = Date.UTC(1900, 0, 1);

/** Tolerates a single object where R4 wants an array (real order-hook drafts do this). */
export function arr<T>(x: T | readonly T[] | undefined | null): readonly T[] {
  if (x === undefined || x === null) return [];
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

export function codings(cc: CodeableConcept | undefined): readonly Coding[] {
  return cc ? arr(cc.coding) : [];
}
