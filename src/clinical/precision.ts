/**
 * Values as a laboratory reports them (docs/clinical-rules.md#9-cards): creatinine in µmol/L as an
 * integer (and mg/dL with 2 decimals when that was the unit sent), proteinuria with 2 decimals,
 * hemoglobin, ALT and eGFR as integers. A converted value is never shown with more significant
 * digits than the value it was converted from (0.44 mg/dL is "39 µmol/L", never "38.9851").
 */
import type { LabKind } from "./codes.js";

/** Decimals shown at most, by fact. */
export const DISPLAY_DECIMALS: Readonly<Record<LabKind, number>> = {
  protein24h: 2,
  upcr: 2,
  creatinine: 0,
  albumin: 1,
  hemoglobin: 0,
  alt: 0,
  urineRbc: 0,
  rbcCasts: 0,
  egfr: 0,
};

/** UCUM codes as a clinician writes them. */
const UNIT_DISPLAY: Readonly<Record<string, string>> = {
  "g/(24.h)": "g/24h",
  "mg/(24.h)": "mg/24h",
  umol: "µmol",
  "umol/L": "µmol/L",
  "/[HPF]": "/HPF",
  "/[LPF]": "/LPF",
  "mL/min/{1.73_m2}": "mL/min/1.73 m²",
};

export function displayUnit(ucum: string): string {
  return UNIT_DISPLAY[ucum] ?? ucum;
}

const ZERO = 48;
const DOT = 46;

/**
 * Significant digits of a reported number (trailing zeros of an integer do not count): the digits
 * of its 15-digit form from the first non-zero one, without the zeros that end it, and for an
 * integer without the zeros that end its integer part (1200 has 2). A form with an exponent
 * (below 1e-6, from 1e15) counts all 15. Read character by character: it runs for every value a
 * card shows, and four regular expressions per value showed in profiles (precision.test.ts
 * compares it with them on generated values).
 *
 * The shortest form of a number (`String`, about half the cost of `toPrecision`) is read first:
 * when it has at most 15 significant digits it is the 15-digit form without its padding zeros (a
 * double holds every decimal of 15 digits exactly enough to give it back), so both count alike.
 */
export function significantDigits(value: number): number {
  if (!Number.isFinite(value) || value === 0) return 1;
  const abs = Math.abs(value);
  if (abs >= 1e-6 && abs < 1e15) {
    const shortest = digitsOf(String(abs));
    if (shortest <= 15) return shortest;
  }
  const text = abs.toPrecision(15);
  if (text.includes("e")) return 15;
  return digitsOf(text);
}

/** Significant digits of a positive number written without an exponent. */
function digitsOf(text: string): number {
  let end = text.length;
  while (text.charCodeAt(end - 1) === ZERO) end--;
  let dot = text.indexOf(".");
  if (dot === end - 1) {
    // Only zeros after the point: an integer.
    end = dot;
    dot = -1;
  }
  let start = 0;
  while (start < end && (text.charCodeAt(start) === ZERO || text.charCodeAt(start) === DOT)) {
    start++;
  }
  if (dot === -1) {
    while (end > start && text.charCodeAt(end - 1) === ZERO) end--;
    return Math.max(1, end - start);
  }
  return Math.max(1, end - start - (dot > start ? 1 : 0));
}

/** Rounds to `decimals` and to at most `sig` significant digits; no trailing zeros. */
export function roundForDisplay(value: number, decimals: number, sig = 15): string {
  if (!Number.isFinite(value)) return String(value);
  const scale = 10 ** decimals;
  let v = Math.round(value * scale) / scale;
  // A number never counts more than 15 significant digits: from 15 on there is nothing to cut.
  if (sig < 15 && v !== 0 && significantDigits(v) > sig) v = Number(v.toPrecision(sig));
  // v is now the double nearest a decimal of at most `decimals` decimals. Below 1e14 units of
  // the last decimal, that decimal has at most 14 significant digits, so no shorter decimal
  // reads as v: its shortest form (String, without an exponent from 1e-6 on) is that decimal
  // without trailing zeros, what toFixed and the trim below write, at a fraction of the cost.
  const abs = Math.abs(v);
  if (abs * scale < 1e14 && (abs >= 1e-6 || v === 0)) return String(v);
  // toFixed, then trim, so that 1.6 stays "1.6" and never becomes "1.60" or "1.6000000001".
  const fixed = v.toFixed(decimals);
  const text = decimals > 0 ? withoutTrailingZeros(fixed) : fixed;
  return text === "-0" ? "0" : text;
}

/** "1.60" → "1.6", "2.00" → "2", as `replace(/\.?0+$/, "")` did, read from the end. */
function withoutTrailingZeros(fixed: string): string {
  let end = fixed.length;
  while (end > 0 && fixed.charCodeAt(end - 1) === ZERO) end--;
  if (end === fixed.length) return fixed;
  if (end > 0 && fixed.charCodeAt(end - 1) === DOT) end--;
  return fixed.slice(0, end);
}

export interface DisplayableValue {
  readonly kind: LabKind;
  /** In the canonical unit of its kind. */
  readonly value: number;
  readonly unit: string;
  /** As reported, when it was converted. */
  readonly original?: { readonly value: number; readonly unit: string };
}

/** The number alone, in the canonical unit, at the precision the cards use (docs/clinical-rules.md#9-cards). */
export function displayNumber(v: DisplayableValue): string {
  const decimals = DISPLAY_DECIMALS[v.kind];
  // An integer display may need more digits than the source had (0.5 mg/dL is 44 µmol/L):
  // rounding 44 to one digit would invent a value, so integers keep their digits.
  if (decimals === 0) return roundForDisplay(v.value, 0, 15);
  const sig = v.original ? significantDigits(v.original.value) : 15;
  return roundForDisplay(v.value, decimals, Math.max(sig, 1));
}

/** "39 µmol/L (0.44 mg/dL)", "1.62 g/24h", "80 g/L". */
export function displayValue(v: DisplayableValue): string {
  const unit = displayUnit(v.unit);
  // "6/HPF", "80 g/L": a count per field is written without a space.
  const main = `${displayNumber(v)}${unit.startsWith("/") ? "" : " "}${unit}`;
  if (v.kind === "creatinine" && v.original && /^mg\/dl$/i.test(v.original.unit)) {
    return `${main} (${roundForDisplay(v.original.value, 2)} mg/dL)`;
  }
  return main;
}

/** A number shown beside lab values (a percentage, an eGFR computed here): integers. */
export function displayInteger(value: number): string {
  return roundForDisplay(value, 0);
}
