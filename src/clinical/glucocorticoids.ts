/**
 * Glucocorticoid dose as prednisone-equivalent mg/day (docs/clinical-rules.md#9-cards): response
 * cards show it at day 0 and now, because a response on a high steroid dose is read differently.
 * Not an immunosuppressant for counting (docs/clinical-rules.md#2-medications).
 */
import { GLUCOCORTICOID_CODES, type Glucocorticoid } from "./codes.js";
import { DAY_MS } from "./facts.js";

export { GLUCOCORTICOID_CODES, type Glucocorticoid };

/**
 * mg of prednisone per mg of the agent: the usual anti-inflammatory equivalence (5 mg prednisone
 * = 5 mg prednisolone = 4 mg methylprednisolone = 0.75 mg dexamethasone = 20 mg hydrocortisone;
 * Liu et al., Allergy Asthma Clin Immunol 2013;9:30, doi:10.1186/1710-1492-9-30).
 */
export const PREDNISONE_EQUIVALENT: Readonly<Record<Glucocorticoid, number>> = {
  prednisone: 1,
  prednisolone: 1,
  methylprednisolone: 5 / 4,
  dexamethasone: 5 / 0.75,
  hydrocortisone: 5 / 20,
};

export interface GlucocorticoidFact {
  readonly agent: Glucocorticoid;
  readonly ref: string;
  /** Epoch ms. */
  readonly start: number;
  readonly end?: number;
  /** mg/day of the agent itself, when the dosage states it. */
  readonly mgPerDay?: number;
}

export interface SteroidDose {
  /** Prednisone-equivalent mg/day (summed over the agents taken then). */
  readonly mgPerDay: number;
  readonly agents: readonly Glucocorticoid[];
  readonly refs: readonly string[];
}

/**
 * The prednisone-equivalent daily dose at an instant, or undefined when no glucocorticoid with a
 * stated dose was being taken then. A dose on a day an agent starts or ends counts.
 */
export function steroidDoseAt(
  facts: readonly GlucocorticoidFact[],
  time: number,
): SteroidDose | undefined {
  const on = facts.filter(
    (f) =>
      f.mgPerDay !== undefined && f.start <= time && (f.end === undefined || f.end + DAY_MS > time),
  );
  if (on.length === 0) return undefined;
  const mg = on.reduce((sum, f) => sum + (f.mgPerDay ?? 0) * PREDNISONE_EQUIVALENT[f.agent], 0);
  return {
    mgPerDay: Math.round(mg * 10) / 10,
    agents: [...new Set(on.map((f) => f.agent))],
    refs: on.map((f) => f.ref),
  };
}
