/**
 * The ordered migrations, the same for SQLite and PostgreSQL. To add one, append a new entry with
 * a name that sorts after the last (Kysely runs them in name order and records each once).
 */
import type { Kysely } from "kysely";
import type { Migration } from "kysely";
import { addAlertStatus, createAlertTables } from "../alerts/schema.js";
import { createAcknowledgementTables } from "../alerts/acknowledgements.js";

export const migrations: Readonly<Record<string, Migration>> = {
  "0001_feedback": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("feedback")
        .addColumn("card", "text", (c) => c.notNull())
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("outcome_timestamp", "text", (c) => c.notNull())
        .addColumn("service_id", "text", (c) => c.notNull())
        .addColumn("accepted_suggestions", "text")
        .addColumn("override_reason", "text")
        .addColumn("user_comment", "text")
        .addColumn("received_at", "text", (c) => c.notNull())
        // Feedback is idempotent on (card uuid, outcome, outcomeTimestamp): docs/cds-contract.md#feedback.
        .addPrimaryKeyConstraint("feedback_pk", ["card", "outcome", "outcome_timestamp"])
        .execute();
    },
  },
  "0002_jwt_replay": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("jwt_replay")
        .addColumn("iss", "text", (c) => c.notNull())
        .addColumn("jti", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("jwt_replay_pk", ["iss", "jti"])
        .execute();
      await db.schema
        .createIndex("jwt_replay_expires")
        .on("jwt_replay")
        .column("expires_at")
        .execute();
    },
  },
  "0003_safety_alerts": {
    up: createAlertTables,
  },
  "0004_alert_acknowledgements": {
    up: createAcknowledgementTables,
  },
  "0005_safety_alert_status": {
    up: addAlertStatus,
  },
};
