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
  const inserted = await store.db
    .insertInto("feedback")
    .values(rows)
    .onConflict((oc) => oc.columns(["card", "outcome", "outcome_timestamp"]).doNothing())
    .returning("card")
    .execute();
  return { inserted: inserted.length, duplicates: records.length - inserted.length };
}
