/**
 * Acknowledgements of safety alerts by the safety team (docs/cds-contract.md#alerts): who took an
 * alert in hand, when, with an optional comment. Each one is stored with the alert and written as
 * an audit row (who, when, what) in the same transaction, on SQLite and PostgreSQL alike; neither
 * table is ever updated or deleted by the service.
 *
 * The operator token is shared by the team, so "who" is the name the team member gives, recorded
 * as given (the token proves membership, the name says which member).
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { AlertTables } from "./schema.js";

export interface AlertAcknowledgementTable {
  id: string;
  alert_id: string;
  acknowledged_by: string;
  comment: string | null;
  acknowledged_at: string;
}

export interface AuditEventTable {
  id: string;
  at: string;
  actor: string;
  /** e.g. "alert.acknowledge". */
  action: string;
  /** e.g. "alert/<id>". */
  target: string;
  /** JSON text, or null. */
  detail: string | null;
}

export interface AcknowledgementTables {
  alert_acknowledgement: AlertAcknowledgementTable;
  audit_event: AuditEventTable;
}

export async function createAcknowledgementTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("alert_acknowledgement")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("alert_id", "text", (c) => c.notNull().references("safety_alert.id"))
    .addColumn("acknowledged_by", "text", (c) => c.notNull())
    .addColumn("comment", "text")
    .addColumn("acknowledged_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("alert_acknowledgement_alert")
    .on("alert_acknowledgement")
    .column("alert_id")
    .execute();
  await db.schema
    .createTable("audit_event")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("detail", "text")
    .execute();
  await db.schema.createIndex("audit_event_at").on("audit_event").column("at").execute();
}

export interface Acknowledgement {
  readonly id: string;
  readonly alertId: string;
  readonly by: string;
  readonly comment?: string;
  readonly at: string;
}

type Db = Kysely<AlertTables>;

/** Records an acknowledgement and its audit row; undefined when there is no such alert. */
export async function acknowledgeAlert(
  db: Db,
  input: { alertId: string; by: string; comment?: string | undefined; now: Date },
): Promise<Acknowledgement | undefined> {
  return db.transaction().execute(async (tx) => {
    const alert = await tx
      .selectFrom("safety_alert")
      .select("id")
      .where("id", "=", input.alertId)
      .executeTakeFirst();
    if (!alert) return undefined;
    const ack: Acknowledgement = {
      id: randomUUID(),
      alertId: input.alertId,
      by: input.by,
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
      at: input.now.toISOString(),
    };
    await tx
      .insertInto("alert_acknowledgement")
      .values({
        id: ack.id,
        alert_id: ack.alertId,
        acknowledged_by: ack.by,
        comment: ack.comment ?? null,
        acknowledged_at: ack.at,
      })
      .execute();
    await tx
      .insertInto("audit_event")
      .values({
        id: randomUUID(),
        at: ack.at,
        actor: ack.by,
        action: "alert.acknowledge",
        target: `alert/${ack.alertId}`,
        detail: JSON.stringify({ acknowledgement: ack.id, comment: ack.comment ?? null }),
      })
      .execute();
    return ack;
  });
}

/** Acknowledgements of these alerts, oldest first, by alert id. */
export async function acknowledgementsOf(
  db: Db,
  alertIds: readonly string[],
): Promise<Map<string, Acknowledgement[]>> {
  const out = new Map<string, Acknowledgement[]>();
  if (alertIds.length === 0) return out;
  const rows = await db
    .selectFrom("alert_acknowledgement")
    .selectAll()
    .where("alert_id", "in", [...alertIds])
    .orderBy("acknowledged_at")
    .orderBy("id")
    .execute();
  for (const r of rows) {
    const list = out.get(r.alert_id) ?? [];
    list.push({
      id: r.id,
      alertId: r.alert_id,
      by: r.acknowledged_by,
      ...(r.comment !== null ? { comment: r.comment } : {}),
      at: r.acknowledged_at,
    });
    out.set(r.alert_id, list);
  }
  return out;
}
