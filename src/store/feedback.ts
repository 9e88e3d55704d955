/** Feedback on cards (CDS Hooks 2.0 feedback), stored once per (card, outcome, outcomeTimestamp). */
import type { Store } from "./index.js";

/** One feedback item as received, with the service it was sent to and when it arrived. */
export interface FeedbackRecord {
  readonly serviceId: string;
  /** The card's uuid. */
  readonly card: string;
  readonly outcome: "accepted" | "overridden";
  /** As sent (ISO 8601); part of the idempotency key with card and outcome. */
  readonly outcomeTimestamp: string;
  readonly acceptedSuggestions: readonly string[];
  readonly overrideReason?: {
    readonly code: string;
    readonly system?: string;
    readonly display?: string;
  };
  readonly userComment?: string;
  readonly receivedAt: Date;
}

/** Rows per INSERT: 500 × 8 columns = 4,000 parameters, far below either database's limit. */
export const FEEDBACK_ROWS_PER_STATEMENT = 500;

export async function saveFeedback(
  store: Store,
  records: readonly FeedbackRecord[],
): Promise<{ inserted: number; duplicates: number }> {
  if (records.length === 0) return { inserted: 0, duplicates: 0 };
  const rows = records.map((r) => ({
    card: r.card,
    outcome: r.outcome,
    outcome_timestamp: r.outcomeTimestamp,
    service_id: r.serviceId,
    accepted_suggestions:
      r.acceptedSuggestions.length > 0 ? JSON.stringify(r.acceptedSuggestions) : null,
    override_reason: r.overrideReason !== undefined ? JSON.stringify(r.overrideReason) : null,
    user_comment: r.userComment ?? null,
    received_at: r.receivedAt.toISOString(),
  }));
  // One statement per batch, all in one transaction: a statement's bound parameters are limited
  // (SQLite 32,766, PostgreSQL 65,535), and 8 columns per row reach SQLite's limit at 4,096 items.
  const inserted = await store.db.transaction().execute(async (trx) => {
    let count = 0;
    for (let start = 0; start < rows.length; start += FEEDBACK_ROWS_PER_STATEMENT) {
      const batch = rows.slice(start, start + FEEDBACK_ROWS_PER_STATEMENT);
      const done = await trx
        .insertInto("feedback")
        .values(batch)
        .onConflict((oc) => oc.columns(["card", "outcome", "outcome_timestamp"]).doNothing())
        .returning("card")
        .execute();
      count += done.length;
    }
    return count;
  });
  return { inserted, duplicates: records.length - inserted };
}
