/**
 * Small readers of FHIR values that every part of the normaliser shares.
 *
 * Resources are not schema-checked as a whole (that would cost every request a walk of every
 * field): each reader checks the JSON type of what it reads, here, and a field of the wrong type
 * is read as a missing one (docs/clinical-rules.md#1-facts).
 */
import type { CodeableConcept, Coding } from "fhir/r4.js";

/** The earliest date a clinical record can carry; anything before it is a data error. */
export const MIN_TIME = Date.UTC(1900, 0, 1);

/** A JSON object (not null, not an array). */
export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** `x` when it is a string, else undefined (a wrong-typed field reads as a missing one). */
export function str(x: unknown): string | undefined {
  return typeof x === "string" ? x : undefined;
}

/**
 * The objects of a list of FHIR elements. Tolerates a single object where R4 wants an array
 * (real order-hook drafts do this); entries that are not objects (null, a number) are dropped.
 */
export function arr<T extends object>(x: T | readonly T[] | undefined | null): readonly T[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) return isObject(x) ? [x] : [];
  const list = x as readonly unknown[];
  // Nearly always every entry is an object: the list is then returned as it is.
  for (const e of list) if (!isObject(e)) return list.filter(isObject) as unknown as T[];
  return list as readonly T[];
}

/** How many entries a list of primitives has (a single value where R4 wants an array: one). */
export function countOf(x: unknown): number {
  if (x === undefined || x === null) return 0;
  return Array.isArray(x) ? x.length : 1;
}

function isReadableCoding(c: Record<string, unknown>): boolean {
  const { system, code, display } = c;
  return (
    (system === undefined || typeof system === "string") &&
    (code === undefined || typeof code === "string") &&
    (display === undefined || typeof display === "string")
  );
}

/** A coding with its wrong-typed system, code or display left out. */
function readableCoding(c: Record<string, unknown>): Coding {
  const out: Coding = {};
  if (typeof c.system === "string") out.system = c.system;
  if (typeof c.code === "string") out.code = c.code;
  if (typeof c.display === "string") out.display = c.display;
  return out;
}

/**
 * The codings of a concept, each with a string (or no) system, code and display: codings that
 * are not objects are dropped, and a system, code or display of another type reads as absent.
 */
export function codings(cc: CodeableConcept | undefined): readonly Coding[] {
  if (!isObject(cc)) return [];
  const list = arr(cc.coding as readonly object[] | undefined) as readonly Record<
    string,
    unknown
  >[];
  for (const c of list) {
    if (!isReadableCoding(c)) {
      return list.map((x) => (isReadableCoding(x) ? (x as Coding) : readableCoding(x)));
    }
  }
  return list as readonly Coding[];
}

/** A concept's text, or "" when it has none or it is not a string. */
export function textOf(cc: CodeableConcept | undefined): string {
  return isObject(cc) && typeof cc.text === "string" ? cc.text : "";
}
