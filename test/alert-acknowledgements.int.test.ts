/**
 * Acknowledgements of safety alerts through the operator API, on SQLite and PostgreSQL: stored
 * with an audit row, listed by GET /alerts, kept when the service reopens its database, and
 * refused with an OperationOutcome when the request is wrong.
 */
import { createHash } from "node:crypto";
import express from "express";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { alertId } from "../src/alerts/alert.js";
import { createAlertSink } from "../src/alerts/sink.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import { testConfig } from "../src/config.js";
import { alertsRouter } from "../src/http/alerts-routes.js";
import { errorMiddleware } from "../src/http/errors.js";
import { createLogger } from "../src/log.js";
import { alertStoreKinds, openAlertStore, type OpenedAlertStore } from "./support/alert-stores.js";
import { alertListingSchema } from "../src/alerts/wire.js";

const TOKEN = "operator-token-for-acknowledgements";
const auth = { Authorization: `Bearer ${TOKEN}` };
const logger = createLogger("silent");
const config = testConfig({
  OPERATOR_TOKEN_SHA256: createHash("sha256").update(TOKEN).digest("hex"),
});

const alert: SafetyAlertInput = {
  rule: "anemia",
  severity: "critical",
  grade: 3,
  patient: "Patient/ack-1",
  observation: "Observation/ack-1-hb",
  value: { value: 32, unit: "g/L" },
  baseline: { value: 125, unit: "g/L" },
  effective: "2026-01-10T08:00:00Z",
};
const id = alertId(alert);

const open: OpenedAlertStore[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

function appOn(store: OpenedAlertStore, now = new Date("2026-01-11T09:30:00Z")) {
  const app = express();
  app.use(alertsRouter({ store, config, logger, clock: () => now }));
  app.use(errorMiddleware(logger));
  return app;
}

describe.each(alertStoreKinds)("alert acknowledgements on %s", (kind) => {
  it("stores an acknowledgement with its audit row, lists it, and keeps it after a reopen", async () => {
    const store = await openAlertStore(kind);
    open.push(store);
    await createAlertSink({ store, config, logger }).raise([alert], "patient-view");

    const res = await request(appOn(store))
      .post(`/alerts/${id}/acknowledgements`)
      .set(auth)
      .send({ by: "  Dr Ana Costa ", comment: "Called the patient; iguratimod held." });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      alert: id,
      by: "Dr Ana Costa",
      comment: "Called the patient; iguratimod held.",
      at: "2026-01-11T09:30:00.000Z",
    });

    const audit = await store.db.selectFrom("audit_event").selectAll().execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: "Dr Ana Costa",
      action: "alert.acknowledge",
      target: `alert/${id}`,
      at: "2026-01-11T09:30:00.000Z",
    });

    // A second member acknowledges too: both kept, oldest first.
    await request(appOn(store, new Date("2026-01-11T10:00:00Z")))
      .post(`/alerts/${id}/acknowledgements`)
      .set(auth)
      .send({ by: "Nurse Li" })
      .expect(201);

    // Reopen the database as a restarted service would.
    const location = store.location;
    await open.pop()?.close();
    const reopened = await openAlertStore(kind, location);
    open.push(reopened);
    const list = await request(appOn(reopened)).get("/alerts").set(auth).expect(200);
    const listed = alertListingSchema.parse(list.body).alerts;
    expect(listed.find((a) => a.id === id)?.acknowledgements).toEqual([
      {
        by: "Dr Ana Costa",
        comment: "Called the patient; iguratimod held.",
        at: "2026-01-11T09:30:00.000Z",
      },
      { by: "Nurse Li", at: "2026-01-11T10:00:00.000Z" },
    ]);
    expect(await reopened.db.selectFrom("audit_event").select("id").execute()).toHaveLength(2);
  });

  it("refuses a wrong request with an OperationOutcome and writes nothing", async () => {
    const store = await openAlertStore(kind);
    open.push(store);
    await createAlertSink({ store, config, logger }).raise([alert], "monitor");
    const app = appOn(store);

    const noToken = await request(app).post(`/alerts/${id}/acknowledgements`).send({ by: "x" });
    expect(noToken.status).toBe(401);

    for (const [body, field] of [
      [{}, "by"],
      [{ by: "   " }, "by"],
      [{ by: "x".repeat(101) }, "by"],
      [{ by: 5 }, "by"],
      [{ by: "A", comment: 5 }, "comment"],
      [{ by: "A", comment: "x".repeat(1001) }, "comment"],
    ] as const) {
      const res = await request(app).post(`/alerts/${id}/acknowledgements`).set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        resourceType: "OperationOutcome",
        issue: [{ expression: [field] }],
      });
    }

    const named = await request(app)
      .post(`/alerts/${id}/acknowledgements`)
      .set(auth)
      .send({ by: "A", comment: ["not", "text"] });
    expect(named.status).toBe(400);
    expect(named.body).toEqual({
      resourceType: "OperationOutcome",
      issue: [
        {
          severity: "error",
          code: "invalid",
          diagnostics: "comment: must be a string",
          expression: ["comment"],
        },
      ],
    });
    const notObject = await request(app)
      .post(`/alerts/${id}/acknowledgements`)
      .set(auth)
      .send(["Dr A"]);
    expect(notObject.status).toBe(400);
    expect(notObject.body).toMatchObject({
      resourceType: "OperationOutcome",
      issue: [{ diagnostics: "the body must be a JSON object" }],
    });

    const unknown = await request(app)
      .post("/alerts/sa-unknown/acknowledgements")
      .set(auth)
      .send({ by: "A" });
    expect(unknown.status).toBe(404);
    expect((unknown.body as { resourceType: string }).resourceType).toBe("OperationOutcome");

    expect(await store.db.selectFrom("alert_acknowledgement").select("id").execute()).toEqual([]);
    expect(await store.db.selectFrom("audit_event").select("id").execute()).toEqual([]);
  });
});
