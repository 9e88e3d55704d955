/**
 * UCUM conversion (clinical-rules §1) through @lhncbc/ucum-lhc. The converter is created once and
 * each (from, to, molecular weight) factor is computed once: every conversion ln-cds needs is linear.
 */
import ucum from "@lhncbc/ucum-lhc";

type Utils = ReturnType<typeof ucum.UcumLhcUtils.getInstance>;
let utils: Utils | undefined;
function converter(): Utils {
  utils ??= ucum.UcumLhcUtils.getInstance();
  return utils;
}

const factorCache = new Map<string, number | null>();

/** Factor that multiplies a value in `from` to give `to`, or undefined when UCUM cannot convert. */
export function conversionFactor(
  from: string,
  to: string,
  molecularWeight?: number,
): number | undefined {
  if (from === to) return 1;
  const key = `${from}\u0000${to}\u0000${molecularWeight ?? ""}`;
  const cached = factorCache.get(key);
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
  factorCache.set(key, factor);
  return factor ?? undefined;
}

/** Rounds to 6 significant digits: removes binary noise (2000 mg → 2 g) without moving any threshold. */
export function roundClinical(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
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
