/**
 * Tables of the safety-alert outbox. Timestamps are ISO-8601 UTC text (`toISOString()`), which
 * sorts and compares the same on SQLite and PostgreSQL, so every query is dialect-neutral.
 */
import type { Kysely } from "kysely";
import type { AcknowledgementTables } from "./acknowledgements.js";
import type { DeliveryStatus } from "./wire.js";

export interface SafetyAlertTable {
  id: string;
  patient: string;
  rule: string;
  severity: string;
  observation: string;
  source: string;
  /** "current" or "resolved" when raised (docs/cds-contract.md#alerts); also in the payload. */
  status: string;
  /** Exact JSON body posted to every webhook (signature is over these bytes). */
  payload: string;
  created_at: string;
}

export type { DeliveryStatus };

export interface AlertDeliveryTable {
  /** Hash of alert id and webhook URL. */
  id: string;
  alert_id: string;
  webhook_url: string;
  status: DeliveryStatus;
  attempts: number;
  /** Due time; a claim pushes it forward by the lease, so a crashed claim becomes due again. */
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface MonitorStateTable {
  name: string;
  value: string;
}

export interface AlertTables extends AcknowledgementTables {
  safety_alert: SafetyAlertTable;
  alert_delivery: AlertDeliveryTable;
  monitor_state: MonitorStateTable;
}

/** Migration for the alert tables; appended to the store's migration record. */
export async function createAlertTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("safety_alert")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("patient", "text", (c) => c.notNull())
    .addColumn("rule", "text", (c) => c.notNull())
    .addColumn("severity", "text", (c) => c.notNull())
    .addColumn("observation", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("alert_delivery")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("alert_id", "text", (c) => c.notNull().references("safety_alert.id"))
    .addColumn("webhook_url", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("last_status", "integer")
    .addColumn("last_error", "text")
    .addColumn("delivered_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("alert_delivery_due")
    .ifNotExists()
    .on("alert_delivery")
    .columns(["status", "next_attempt_at"])
    .execute();
  await db.schema
    .createTable("monitor_state")
    .ifNotExists()
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
}

/** Migration: the alert's status ("current" / "resolved"); alerts raised before it were current. */
export async function addAlertStatus(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("safety_alert")
    .addColumn("status", "text", (c) => c.notNull().defaultTo("current"))
    .execute();
}
