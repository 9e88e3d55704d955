/**
 * At most MAX_CARDS cards per answer (docs/cds-contract.md#cards): a clinician reads a handful in
 * a side panel, and a request with hundreds of draft orders must not answer hundreds of cards.
 * When more were made, critical ones are kept first, then warnings, then info (each in the
 * service's order), and the first card kept says how many were left out, so nothing is dropped
 * in silence.
 */
import type { Card } from "./schemas.js";

export const MAX_CARDS = 20;

const RANK: Readonly<Record<string, number>> = { critical: 0, warning: 1, info: 2 };

export function capCards(cards: readonly Card[], max: number = MAX_CARDS): Card[] {
  if (cards.length <= max) return [...cards];
  const ordered = cards
    .map((card, at) => ({ card, at }))
    .sort((a, b) => (RANK[a.card.indicator] ?? 3) - (RANK[b.card.indicator] ?? 3) || a.at - b.at)
    .map((x) => x.card);
  const kept = ordered.slice(0, max);
  const left = ordered.slice(max);
  const count = (indicator: string): number => left.filter((c) => c.indicator === indicator).length;
  const byLevel = ["critical", "warning", "info"]
    .map((level) => [level, count(level)] as const)
    .filter(([, n]) => n > 0)
    .map(([level, n]) => `${String(n)} ${level}`)
    .join(", ");
  const note =
    `**Cards omitted**\n\n- ${String(left.length)} further cards (${byLevel}) were not shown: ` +
    `ln-cds answers at most ${String(max)} cards per call, the most severe first.`;
  const [first, ...rest] = kept;
  if (first === undefined) return kept;
  const detail = first.detail === undefined ? note : `${first.detail}\n\n${note}`;
  return [{ ...first, detail }, ...rest];
}
