/**
 * Tables of the application database. Timestamps are ISO-8601 UTC text, JSON is text, so every
 * query means the same on SQLite and PostgreSQL.
 */
import type { AlertTables } from "../alerts/schema.js";

export interface FeedbackTable {
  card: string;
  outcome: string;
  outcome_timestamp: string;
  service_id: string;
  accepted_suggestions: string | null;
  override_reason: string | null;
  user_comment: string | null;
  received_at: string;
}

export interface JwtReplayTable {
  iss: string;
  jti: string;
  expires_at: string;
}

export interface Database extends AlertTables {
  feedback: FeedbackTable;
  jwt_replay: JwtReplayTable;
}
