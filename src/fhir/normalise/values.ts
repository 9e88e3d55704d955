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

/** A coding that can be read as it is: an object whose system, code and display are strings or absent. */
function isReadableCoding(c: unknown): c is Coding {
  if (typeof c !== "object" || c === null || Array.isArray(c)) return false;
  const { system, code, display } = c as Record<string, unknown>;
  return (
    (system === undefined || typeof system === "string") &&
    (code === undefined || typeof code === "string") &&
    (display === undefined || typeof display === "string")
  );
}

/** The codings of `list` that are objects, each with its wrong-typed system, code or display left out. */
function readableCodings(list: readonly unknown[]): Coding[] {
  const out: Coding[] = [];
  for (const c of list) {
    if (isReadableCoding(c)) out.push(c);
    else if (isObject(c)) {
      const x: Coding = {};
      if (typeof c.system === "string") x.system = c.system;
      if (typeof c.code === "string") x.code = c.code;
      if (typeof c.display === "string") x.display = c.display;
      out.push(x);
    }
  }
  return out;
}

/**
 * The codings of a concept, each with a string (or no) system, code and display: codings that
 * are not objects are dropped, and a system, code or display of another type reads as absent.
 * One pass over the list: a list that is all readable (nearly always) is returned as it is.
 */
export function codings(cc: CodeableConcept | undefined): readonly Coding[] {
  const concept: unknown = cc;
  if (typeof concept !== "object" || concept === null) return [];
  const list = (concept as { coding?: unknown }).coding;
  if (Array.isArray(list)) {
    for (const c of list as readonly unknown[]) {
      if (!isReadableCoding(c)) return readableCodings(list as readonly unknown[]);
    }
    return list as readonly Coding[];
  }
  // A single coding where R4 wants a list is tolerated, as arr() does.
  return list === undefined || list === null ? [] : readableCodings([list]);
}

/** A concept's text, or "" when it has none or it is not a string. */
export function textOf(cc: CodeableConcept | undefined): string {
  return isObject(cc) && typeof cc.text === "string" ? cc.text : "";
}
