/**
 * UCUM conversion (docs/clinical-rules.md#1-facts) through @lhncbc/ucum-lhc. The converter is created once and
 * each (from, to, molecular weight) factor is computed once: every conversion ln-cds needs is linear.
 */
import ucum from "@lhncbc/ucum-lhc";

type Utils = ReturnType<typeof ucum.UcumLhcUtils.getInstance>;
let utils: Utils | undefined;
function converter(): Utils {
  utils ??= ucum.UcumLhcUtils.getInstance();
  return utils;
}

/** from → (to, or to + molecular weight) → factor; null when UCUM cannot convert. */
const factorCache = new Map<string, Map<string, number | null>>();

/**
 * Factors remembered at most. The `from` units come from requests: a client sending a new unit
 * string with every lab would otherwise grow the cache for as long as the process runs. Real
 * charts use a few dozen units; past the bound a new pair is worked out each time, uncached.
 */
export const MAX_CACHED_FACTORS = 2000;
let cachedFactors = 0;

/** How many factors are remembered (for tests of the bound). */
export function cachedFactorCount(): number {
  return cachedFactors;
}

/** Factor that multiplies a value in `from` to give `to`, or undefined when UCUM cannot convert. */
export function conversionFactor(
  from: string,
  to: string,
  molecularWeight?: number,
): number | undefined {
  if (from === to) return 1;
  // Nested maps: this runs for every lab value and range limit, and building a string key per
  // call cost more than the look-up.
  const key = molecularWeight ? `${to}\u0000${String(molecularWeight)}` : to;
  const byTarget = factorCache.get(from);
  const cached = byTarget?.get(key);
  if (cached !== undefined) return cached ?? undefined;
  let factor: number | null = null;
  try {
    const r = converter().convertUnitTo(
      from,
      1,
      to,
      molecularWeight ? { molecularWeight } : undefined,
    );
    if (
      r.status === "succeeded" &&
      typeof r.toVal === "number" &&
      Number.isFinite(r.toVal) &&
      r.toVal > 0
    ) {
      factor = r.toVal;
    }
  } catch {
    factor = null;
  }
  if (cachedFactors < MAX_CACHED_FACTORS) {
    if (byTarget === undefined) factorCache.set(from, new Map([[key, factor]]));
    else byTarget.set(key, factor);
    cachedFactors += 1;
  }
  return factor ?? undefined;
}

/** Powers of ten that are exact doubles (10^0 … 10^22). */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Rounds to 6 significant digits: removes binary noise (2000 mg → 2 g) without moving any threshold.
 * The result is exactly `Number(x.toPrecision(6))`; the string round trip is taken only near a
 * rounding tie (it ran for every lab value and showed in profiles). Off a tie, scaling by an exact
 * power of ten picks the same 6 digits, and one correctly rounded multiply or divide gives the
 * double nearest to them, as parsing their decimal form does (units.test.ts compares both).
 */
export function roundClinical(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  // An integer of at most 6 digits is its own 6-digit rounding (many labs are sent as integers).
  if (Number.isInteger(x) && x < 1e6 && x > -1e6) return x;
  const shift = 5 - Math.floor(Math.log10(Math.abs(x)));
  if (shift >= -22 && shift <= 22) {
    const scale = EXACT_POWERS_OF_TEN[Math.abs(shift)] as number;
    const y = shift >= 0 ? x * scale : x / scale;
    const abs = Math.abs(y);
    // log10 can be off by one next to a power of ten: then fall back rather than adjust.
    if (abs >= 1e5 && abs < 1e6) {
      const n = Math.round(y);
      const distanceToTie = Math.abs(Math.abs(y - Math.trunc(y)) - 0.5);
      if (distanceToTie > 1e-6) return shift >= 0 ? n / scale : n * scale;
    }
  }
  return Number(x.toPrecision(6));
}

export function convertUnit(
  value: number,
  from: string,
  to: string,
  molecularWeight?: number,
): number | undefined {
  const f = conversionFactor(from, to, molecularWeight);
  return f === undefined ? undefined : roundClinical(value * f);
}
