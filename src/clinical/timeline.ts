/** Shared look-ups over the sorted lab facts (pure). */
import type { LabKind } from "./codes.js";
import {
  DAY_MS,
  type LabFact,
  type PatientFacts,
  type Sex,
  type DataQualityNote,
} from "./facts.js";
import { creatinineUmolToMgDl } from "./egfr.js";
import type { DecidingValue } from "./findings.js";
import type { Thresholds } from "./thresholds.js";
import { displayNumber } from "./precision.js";

export const days = (n: number): number => n * DAY_MS;

/** 9999-12-31T23:59:59.999Z + 1 ms: from here on an ISO instant needs a six-digit year. */
const YEAR_10000 = 253402300800000;
/** "00" … "99", each written once. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, n) =>
  n < 10 ? `0${String(n)}` : String(n),
);
const two = (n: number): string => TWO_DIGITS[n] ?? String(n);

/**
 * The ISO instant of `t` (ms since 1970), as `Date.prototype.toISOString` writes it. Instants of
 * 1970–9999 in whole milliseconds, every fact's, are written from the calendar arithmetic of
 * civil dates (H. Hinnant's days-to-civil): `toISOString` was half a microsecond, and a card's
 * rule dates a dozen values. Any other instant is left to `toISOString`.
 */
export function iso(t: number): string {
  if (!(t >= 0 && t < YEAR_10000) || !Number.isInteger(t)) return new Date(t).toISOString();
  const dayNumber = Math.floor(t / DAY_MS);
  let ms = t - dayNumber * DAY_MS;
  // Days since 0000-03-01, in 400-year eras of 146,097 days (the year starts in March).
  const z = dayNumber + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36524) -
      Math.floor(dayOfEra / 146096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(ms / 3600000);
  ms -= hours * 3600000;
  const minutes = Math.floor(ms / 60000);
  ms -= minutes * 60000;
  const seconds = Math.floor(ms / 1000);
  ms -= seconds * 1000;
  const millis = ms < 100 ? `0${two(ms)}` : String(ms);
  return `${year < 1000 ? String(year).padStart(4, "0") : String(year)}-${two(month)}-${two(day)}T${two(hours)}:${two(minutes)}:${two(seconds)}.${millis}Z`;
}

export function labsOf(
  facts: PatientFacts,
  kind: LabKind,
  from = -Infinity,
  to = Infinity,
): LabFact[] {
  return facts.labs.filter((l) => l.kind === kind && l.time >= from && l.time <= to);
}

/** Nearest to `target` (ties: the earlier, then by ref) within [from, to]. */
export function nearest(
  labs: readonly LabFact[],
  target: number,
  from: number,
  to: number,
): LabFact | undefined {
  let best: LabFact | undefined;
  for (const l of labs) {
    if (l.time < from || l.time > to) continue;
    if (!best) {
      best = l;
      continue;
    }
    const d = Math.abs(l.time - target);
    const bd = Math.abs(best.time - target);
    if (d < bd || (d === bd && (l.time < best.time || (l.time === best.time && l.ref < best.ref))))
      best = l;
  }
  return best;
}

export function latest(labs: readonly LabFact[]): LabFact | undefined {
  return labs[labs.length - 1];
}

export interface ProteinSeries {
  readonly values: readonly LabFact[];
  /** true when UPCR (g/g) stands in for 24-h protein (docs/clinical-rules.md#1-facts). */
  readonly substituted: boolean;
}

/** docs/clinical-rules.md#1-facts: 24-h protein where it exists in the window; else UPCR in g/g, disclosed. */
export function proteinuria(facts: PatientFacts, from: number, to: number): ProteinSeries {
  const p24 = labsOf(facts, "protein24h", from, to);
  if (p24.length > 0) return { values: p24, substituted: false };
  const upcr = labsOf(facts, "upcr", from, to);
  return { values: upcr, substituted: upcr.length > 0 };
}

/** Nearest proteinuria measure to target within [from, to], 24-h preferred over UPCR. */
export function nearestProteinuria(
  facts: PatientFacts,
  target: number,
  from: number,
  to: number,
): { value: LabFact; substituted: boolean } | undefined {
  const p = nearest(labsOf(facts, "protein24h", from, to), target, from, to);
  if (p) return { value: p, substituted: false };
  const u = nearest(labsOf(facts, "upcr", from, to), target, from, to);
  return u ? { value: u, substituted: true } : undefined;
}

export function substitutionNote(l: LabFact): DataQualityNote {
  return {
    reason: "upcr-substituted",
    ref: l.ref,
    message: `no 24-h urine protein in the window: UPCR ${displayNumber(l)} g/g used in its place (g/g ≈ g/day)`,
  };
}

export function decidingValue(label: string, l: LabFact): DecidingValue {
  return {
    label,
    kind: l.kind,
    value: l.value,
    unit: l.unit,
    time: iso(l.time),
    ref: l.ref,
    ...(l.referenceRange ? { referenceRange: l.referenceRange } : {}),
    original: l.original,
  };
}

export function hemoglobinLln(l: LabFact | undefined, sex: Sex, t: Thresholds): number {
  if (l?.referenceRange?.low !== undefined) return l.referenceRange.low;
  return sex === "male"
    ? t.hemoglobinLlnMale.value
    : sex === "female"
      ? t.hemoglobinLlnFemale.value
      : t.hemoglobinLlnOther.value;
}

export function altUln(l: LabFact | undefined, sex: Sex, t: Thresholds): number {
  if (l?.referenceRange?.high !== undefined) return l.referenceRange.high;
  return sex === "male"
    ? t.altUlnMale.value
    : sex === "female"
      ? t.altUlnFemale.value
      : t.altUlnOther.value;
}

export function creatinineUln(l: LabFact | undefined, sex: Sex, t: Thresholds): number {
  if (l?.referenceRange?.high !== undefined) return l.referenceRange.high;
  return sex === "male"
    ? t.creatinineUlnMale.value
    : sex === "female"
      ? t.creatinineUlnFemale.value
      : t.creatinineUlnOther.value;
}

/**
 * Creatinine at or below its ULN. The rules give the default ULN in both units, "97 umol/L
 * (1.1 mg/dL)", and 1.1 mg/dL is 97.24 umol/L: a result reported in mg/dL is therefore held to
 * the mg/dL figure (the ULN to 0.1 mg/dL, as the rules write it), so 1.1 mg/dL is at the ULN.
 */
export function creatinineAtOrBelowUln(l: LabFact, sex: Sex, t: Thresholds): boolean {
  const uln = creatinineUln(l, sex, t);
  if (l.referenceRange?.high === undefined && /^mg\/dl$/i.test(l.original.unit)) {
    return l.original.value <= Math.round(creatinineUmolToMgDl(uln) * 10) / 10;
  }
  return l.value <= uln;
}

/** Data-quality notes of the normaliser about values of these kinds (each rule discloses its own). */
export function factNotes(facts: PatientFacts, kinds: readonly LabKind[]): DataQualityNote[] {
  return facts.notes.filter((n) => n.kind !== undefined && kinds.includes(n.kind));
}
