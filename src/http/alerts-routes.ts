/**
 * Operator API for safety alerts (docs/cds-contract.md#alerts): list alerts with their delivery state per webhook,
 * and put a dead-lettered alert back in the queue. Both behind the operator token.
 */
import express, { type Router } from "express";
import type { AlertStore } from "../alerts/store.js";
import {
  acknowledgementRequestSchema,
  deliveryStatusSchema,
  safetyAlertPayloadSchema,
  type AcknowledgementCreated,
  type AlertListing,
  type DeliveryStatus,
  type ListedAlert,
  type SafetyAlertPayload,
} from "../alerts/wire.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { describeIssues } from "../hooks/schemas.js";
import { badRequest, badRequestIssues, notFound } from "./errors.js";
import { jsonBody } from "./json-body.js";
import { acknowledgeAlert, acknowledgementsOf } from "../alerts/acknowledgements.js";
import { requireOperator } from "./operator-auth.js";

export interface AlertsRouterDeps {
  store: AlertStore;
  config: Pick<Config, "OPERATOR_TOKEN_SHA256">;
  /** Where refused operator tokens are counted (never the token). */
  logger: Logger;
  clock?: () => Date;
}

const MAX_LIMIT = 500;

function isDeliveryStatus(value: string): value is DeliveryStatus {
  return deliveryStatusSchema.safeParse(value).success;
}

/**
 * A stored payload read back through the webhook body's schema. Undefined when it does not
 * parse (hand-edited row, a bug of an older version): the listing then leaves that alert out and
 * logs its id and what is wrong, rather than answering 500, because one bad row must not hide
 * every other alert from the safety team. The row still counts for paging, so the cursor moves
 * past it.
 */
function storedPayload(
  row: { id: string; payload: string; status: string },
  logger: Logger,
): SafetyAlertPayload | undefined {
  let json: unknown;
  try {
    json = JSON.parse(row.payload);
  } catch {
    logger.error({ alert: row.id }, "stored alert payload is not JSON; left out of GET /alerts");
    return undefined;
  }
  // Alerts recorded before version 2 have no status in their stored bytes (kept as they are:
  // webhooks sign them); the column, added with the default "current", says it.
  if (typeof json === "object" && json !== null && !Array.isArray(json) && !("status" in json)) {
    json = { ...json, status: row.status };
  }
  const parsed = safetyAlertPayloadSchema.safeParse(json);
  if (!parsed.success) {
    // Paths and issue codes only: never the values, which can be patient data.
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.code}`);
    logger.error(
      { alert: row.id, problems },
      "stored alert payload does not fit the contract; left out of GET /alerts",
    );
    return undefined;
  }
  return parsed.data;
}

interface Cursor {
  createdAt: string;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString("base64url");
}

function decodeCursor(raw: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === "string" &&
      typeof parsed[1] === "string"
    ) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw badRequest("cursor is not a cursor returned by this API", "cursor");
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw badRequest(`${name} must be given once`, name);
  return value;
}

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A date or a date-time with a zone, read strictly: four-digit years 0001 to 9999, every field in
 * range (no 30 February, no hour 24), no expanded years (`+275760-…` that `Date.parse` takes), no
 * local time without a zone. Undefined when the text is anything else.
 */
export function parseInstant(text: string): Date | undefined {
  const m = INSTANT.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999.
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, Number(frac.padEnd(3, "0").slice(0, 3)));
  if (zone !== "Z") {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = Number(zone.slice(4, 6));
    if (offsetHours > 14 || offsetMinutes > 59) return undefined;
    const sign = zone.startsWith("-") ? -1 : 1;
    date.setTime(date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  }
  return date;
}

export function alertsRouter(deps: AlertsRouterDeps): Router {
  const { db } = deps.store;
  const clock = deps.clock ?? (() => new Date());
  const router = express.Router();
  router.use("/alerts", requireOperator(deps.config, deps.logger));

  router.get("/alerts", async (req, res) => {
    const status = single(req.query.status, "status");
    if (status !== undefined && !isDeliveryStatus(status)) {
      throw badRequest("status must be pending, delivered or failed", "status");
    }
    const sinceRaw = single(req.query.since, "since");
    let since: string | undefined;
    if (sinceRaw !== undefined) {
      const t = parseInstant(sinceRaw);
      if (t === undefined) {
        throw badRequest(
          "since must be an ISO 8601 date (YYYY-MM-DD) or date-time with a time zone (YYYY-MM-DDThh:mm[:ss[.fff]]Z or ±hh:mm), year 0001 to 9999",
          "since",
        );
      }
      since = t.toISOString();
    }
    const limitRaw = single(req.query.limit, "limit") ?? "100";
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw badRequest(`limit must be an integer from 1 to ${String(MAX_LIMIT)}`, "limit");
    }
    const cursorRaw = single(req.query.cursor, "cursor");
    const cursor = cursorRaw === undefined ? undefined : decodeCursor(cursorRaw);

    let query = db
      .selectFrom("safety_alert")
      .select(["id", "payload", "status", "created_at"])
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit + 1);
    if (since !== undefined) query = query.where("created_at", ">=", since);
    if (cursor !== undefined) {
      query = query.where((eb) =>
        eb.or([
          eb("created_at", ">", cursor.createdAt),
          eb.and([eb("created_at", "=", cursor.createdAt), eb("id", ">", cursor.id)]),
        ]),
      );
    }
    if (status !== undefined) {
      // An alert is listed under every state one of its webhook deliveries is in.
      query = query.where("id", "in", (eb) =>
        eb.selectFrom("alert_delivery").select("alert_id").where("status", "=", status),
      );
    }
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    const deliveries =
      page.length === 0
        ? []
        : await db
            .selectFrom("alert_delivery")
            .select([
              "alert_id",
              "webhook_url",
              "status",
              "attempts",
              "next_attempt_at",
              "last_status",
              "last_error",
              "delivered_at",
            ])
            .where(
              "alert_id",
              "in",
              page.map((r) => r.id),
            )
            .execute();
    const acknowledgements = await acknowledgementsOf(
      db,
      page.map((r) => r.id),
    );
    const listed: ListedAlert[] = [];
    for (const r of page) {
      const payload = storedPayload(r, deps.logger);
      if (payload === undefined) continue;
      listed.push({
        ...payload,
        recordedAt: r.created_at,
        deliveries: deliveries
          .filter((d) => d.alert_id === r.id)
          .map((d) => ({
            // Origin only: webhook paths can carry receiver tokens.
            webhook: new URL(d.webhook_url).origin,
            status: d.status,
            attempts: d.attempts,
            nextAttemptAt: d.status === "pending" ? d.next_attempt_at : null,
            lastStatus: d.last_status,
            lastError: d.last_error,
            deliveredAt: d.delivered_at,
          })),
        acknowledgements: (acknowledgements.get(r.id) ?? []).map((a) => ({
          by: a.by,
          ...(a.comment !== undefined ? { comment: a.comment } : {}),
          at: a.at,
        })),
      });
    }
    const last = page[page.length - 1];
    const body: AlertListing = {
      alerts: listed,
      next:
        rows.length > limit && last
          ? encodeCursor({ createdAt: last.created_at, id: last.id })
          : null,
    };
    res.json(body);
  });

  router.post("/alerts/:id/retry", async (req, res) => {
    const id = req.params.id;
    const alert = await db
      .selectFrom("safety_alert")
      .select("id")
      .where("id", "=", id)
      .executeTakeFirst();
    if (!alert) throw notFound("no such alert");
    const nowIso = clock().toISOString();
    // Restart the age clock too, or WEBHOOK_MAX_AGE_HOURS would dead-letter it again at once.
    const result = await db
      .updateTable("alert_delivery")
      .set({ status: "pending", next_attempt_at: nowIso, created_at: nowIso, last_error: null })
      .where("alert_id", "=", id)
      .where("status", "=", "failed")
      .executeTakeFirst();
    res.json({ id, requeued: Number(result.numUpdatedRows) });
  });

  // A team member takes the alert in hand: their name, an optional comment; stored with an audit
  // row (src/alerts/acknowledgements.ts).
  router.post(
    "/alerts/:id/acknowledgements",
    jsonBody({ limitBytes: 16 * 1024 }),
    async (req, res) => {
      const parsed = acknowledgementRequestSchema.safeParse(req.body);
      if (!parsed.success) throw badRequestIssues(describeIssues(parsed.error));
      const { by, comment } = parsed.data;
      const ack = await acknowledgeAlert(db, {
        alertId: String(req.params.id),
        by,
        comment,
        now: clock(),
      });
      if (!ack) throw notFound("no such alert");
      const created: AcknowledgementCreated = {
        id: ack.id,
        alert: ack.alertId,
        by: ack.by,
        ...(ack.comment !== undefined ? { comment: ack.comment } : {}),
        at: ack.at,
      };
      res.status(201).json(created);
    },
  );

  return router;
}
