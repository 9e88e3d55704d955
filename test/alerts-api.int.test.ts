import { createHash } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { alertId } from "../src/alerts/alert.js";
import { createAlertSink } from "../src/alerts/sink.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import { alertListingSchema } from "../src/alerts/wire.js";
import { testConfig } from "../src/config.js";
import { alertsRouter } from "../src/http/alerts-routes.js";
import { errorMiddleware } from "../src/http/errors.js";
import { createLogger } from "../src/log.js";
import { alertStoreKinds, openAlertStore, type OpenedAlertStore } from "./support/alert-stores.js";

const TOKEN = "operator-token-for-tests";
const logger = createLogger("silent");
const config = testConfig({
  OPERATOR_TOKEN_SHA256: createHash("sha256").update(TOKEN).digest("hex"),
  SAFETY_WEBHOOKS: JSON.stringify([
    { url: "http://127.0.0.1:9/a", secret: "s".repeat(20) },
    { url: "http://127.0.0.1:10/b", secret: "t".repeat(20) },
  ]),
  WEBHOOK_ALLOWLIST: "http://127.0.0.1:9,http://127.0.0.1:10",
});

function alerts(n: number): SafetyAlertInput[] {
  return Array.from({ length: n }, (_, i) => ({
    rule: "anemia" as const,
    severity: "warning" as const,
    grade: 2,
    patient: `Patient/api-${String(i)}`,
    observation: `Observation/api-hb-${String(i)}`,
    value: { value: 85, unit: "g/L" },
    effective: "2024-01-01T00:00:00Z",
  }));
}

const open: OpenedAlertStore[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

describe.each(alertStoreKinds)("operator alerts API on %s", (kind) => {
  async function setup(log = logger) {
    const store = await openAlertStore(kind);
    open.push(store);
    const app = express();
    app.use(alertsRouter({ store, config, logger: log }));
    app.use(errorMiddleware(logger));
    return { store, app };
  }
  const auth = { Authorization: `Bearer ${TOKEN}` };

  it("refuses without the operator token", async () => {
    const { app } = await setup();
    const res = await request(app).get("/alerts");
    expect(res.status).toBe(401);
    expect((res.body as { resourceType: string }).resourceType).toBe("OperationOutcome");
    expect((await request(app).post("/alerts/x/retry")).status).toBe(401);
  });

  it("lists alerts with per-webhook delivery state, paginated by cursor", async () => {
    const { store, app } = await setup();
    await createAlertSink({ store, config, logger }).raise(alerts(5), "monitor");
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await request(app)
        .get("/alerts")
        .query({ status: "pending", limit: 2, ...(cursor ? { cursor } : {}) })
        .set(auth);
      expect(res.status).toBe(200);
      // The listing fits the contract's schema (src/alerts/wire.ts).
      const body = alertListingSchema.parse(res.body);
      for (const a of body.alerts) {
        seen.push(a.id);
        expect(a.deliveries.map((d) => d.webhook).sort()).toEqual([
          "http://127.0.0.1:10",
          "http://127.0.0.1:9",
        ]);
        expect(a.deliveries.every((d) => d.status === "pending")).toBe(true);
      }
      cursor = body.next;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(alerts(5).map(alertId).sort());
    const delivered = await request(app).get("/alerts?status=delivered").set(auth);
    expect(alertListingSchema.parse(delivered.body).alerts).toHaveLength(0);
    const future = await request(app).get("/alerts?since=2999-01-01T00:00:00Z").set(auth);
    expect(alertListingSchema.parse(future.body).alerts).toHaveLength(0);
  });

  it("rejects a bad status, limit or cursor with a 400 OperationOutcome", async () => {
    const { app } = await setup();
    for (const q of ["status=lost", "limit=0", "limit=x", "cursor=nope", "since=yesterday"]) {
      const res = await request(app).get(`/alerts?${q}`).set(auth);
      expect(res.status, q).toBe(400);
      expect((res.body as { resourceType: string }).resourceType).toBe("OperationOutcome");
    }
  });

  it("reads since strictly: years 0001 to 9999, real dates, a time zone; 400 otherwise", async () => {
    const { store, app } = await setup();
    await createAlertSink({ store, config, logger }).raise(alerts(2), "monitor");
    for (const since of [
      "+275760-09-13T00:00:00.000Z",
      "-000001-01-01T00:00:00Z",
      "0000-01-01T00:00:00Z",
      "10000-01-01T00:00:00Z",
      "2026-02-30T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-01-15T24:00:00Z",
      "2026-01-15T10:00:00",
      "2026-1-5",
      "Thu, 01 Jan 2026 00:00:00 GMT",
    ]) {
      const res = await request(app).get("/alerts").query({ since }).set(auth);
      expect(res.status, since).toBe(400);
      expect((res.body as { issue: { expression?: string[] }[] }).issue[0]?.expression).toEqual([
        "since",
      ]);
    }
    const count = async (since: string) => {
      const res = await request(app).get("/alerts").query({ since }).set(auth);
      expect(res.status, since).toBe(200);
      return alertListingSchema.parse(res.body).alerts.length;
    };
    expect(await count("0001-01-01T00:00:00Z")).toBe(2);
    expect(await count("2000-01-01")).toBe(2);
    expect(await count("2000-01-01T10:00:00.123+01:00")).toBe(2);
    expect(await count("9999-12-31T23:59:59Z")).toBe(0);
  });

  it("leaves out and logs a stored payload that does not fit the contract; pages go on past it", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const { store, app } = await setup(createLogger("info", sink));
    const five = alerts(5);
    await createAlertSink({ store, config, logger }).raise(five, "monitor");
    const [bad, broken] = [alertId(five[1]!), alertId(five[3]!)];
    await store.db
      .updateTable("safety_alert")
      .set({ payload: JSON.stringify({ id: bad, type: "something-else" }) })
      .where("id", "=", bad)
      .execute();
    await store.db
      .updateTable("safety_alert")
      .set({ payload: "{not json" })
      .where("id", "=", broken)
      .execute();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await request(app)
        .get("/alerts")
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(auth);
      expect(res.status).toBe(200);
      const body = alertListingSchema.parse(res.body);
      seen.push(...body.alerts.map((a) => a.id));
      cursor = body.next;
    } while (cursor !== null);
    expect(seen.sort()).toEqual([0, 2, 4].map((i) => alertId(five[i]!)).sort());

    const logged = lines.join("");
    expect(logged).toContain(bad);
    expect(logged).toContain(broken);
    expect(logged).toContain("left out of GET /alerts");
    expect(logged).not.toContain("Patient/api-");
  });

  it("lists an alert recorded before version 2 (no status in its payload) with its column's status", async () => {
    const { store, app } = await setup();
    const [one] = alerts(1);
    await createAlertSink({ store, config, logger }).raise([one!], "patient-view");
    const id = alertId(one!);
    // Version 1 stored the payload without status or latest; migration 0005 gave the column
    // its default, "current", and left the stored bytes (they are what webhooks sign) alone.
    const row = await store.db
      .selectFrom("safety_alert")
      .select("payload")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    const {
      status: _status,
      latest: _latest,
      ...v1
    } = JSON.parse(row.payload) as Record<string, unknown>;
    await store.db
      .updateTable("safety_alert")
      .set({ payload: JSON.stringify(v1) })
      .where("id", "=", id)
      .execute();
    const res = await request(app).get("/alerts").set(auth);
    expect(res.status).toBe(200);
    const listed = alertListingSchema.parse(res.body).alerts;
    expect(listed.map((a) => [a.id, a.status])).toEqual([[id, "current"]]);
  });

  it("retry puts a dead-lettered alert back in the queue; unknown ids are 404", async () => {
    const { store, app } = await setup();
    const [one] = alerts(1);
    await createAlertSink({ store, config, logger }).raise([one!], "patient-view");
    const id = alertId(one!);
    await store.db.updateTable("alert_delivery").set({ status: "failed" }).execute();
    const failed = await request(app).get("/alerts?status=failed").set(auth);
    expect(alertListingSchema.parse(failed.body).alerts).toHaveLength(1);
    const res = await request(app).post(`/alerts/${id}/retry`).set(auth);
    expect(res.status).toBe(200);
    expect((res.body as { requeued: number }).requeued).toBe(2);
    const rows = await store.db.selectFrom("alert_delivery").select("status").execute();
    expect(rows.every((r) => r.status === "pending")).toBe(true);
    expect((await request(app).post("/alerts/sa-unknown/retry").set(auth)).status).toBe(404);
  });
});
