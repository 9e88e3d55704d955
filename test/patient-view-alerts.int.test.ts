/**
 * Safety-team alerts raised by a clinician's patient-view (docs/cds-contract.md#alerts), on SQLite and PostgreSQL: opening patient 4's chart on iguratimod-safety records one
 * warning (Hb 80 g/L, week 7) and one critical (Hb 32 g/L, week 12) alert before the HTTP
 * response, opening it again records nothing new, and the webhook gets each alert exactly once,
 * signed. A store that fails still lets the clinician have the cards.
 */
import { createHmac } from "node:crypto";
import type { Kysely } from "kysely";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { patientPrefetch, studyPatientResources } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { startAlerting } from "../src/alerts/runtime.js";
import { createAlertSink } from "../src/alerts/sink.js";
import { alertStore } from "../src/alerts/store.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import type { Store } from "../src/store/index.js";
import { startReceiver, until, type Receiver } from "./support/alert-stores.js";
import { captureLogs, protocolApp } from "./support/protocol-app.js";
import { storeKinds } from "./support/stores.js";

const NOW = new Date();
const SECRET = "patient-view-secret-0123456789";
const logger = createLogger("silent");

/** Patient 4's full prefetch, as an EHR would send it. */
function patient4Request() {
  return {
    hook: "patient-view",
    hookInstance: "4b1a1c0e-5b7c-4c39-9d4e-0d1a2f3b4c5d",
    context: { userId: "Practitioner/u1", patientId: "kang-04" },
    prefetch: patientPrefetch(studyPatientResources("kang-04", NOW)),
  };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function setup(open: () => Promise<Store>, receiver: Receiver) {
  const store = await open();
  const config = testConfig({
    SAFETY_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]),
    WEBHOOK_ALLOWLIST: receiver.origin,
    WORKER_POLL_MS: "20",
    WEBHOOK_BACKOFF_BASE_MS: "100",
  });
  const alerting = startAlerting({ store, config, logger, monitor: "off" });
  cleanup.push(() => store.close());
  cleanup.push(() => alerting.stop());
  const { app } = protocolApp({
    services: defaultServices(config),
    alertSink: alerting.sink,
    clock: () => NOW,
  });
  const db = store.db as unknown as Kysely<{
    safety_alert: { severity: string; source: string; observation: string };
  }>;
  const alertsInDb = () =>
    db
      .selectFrom("safety_alert")
      .select(["severity", "source", "observation"])
      .orderBy("observation")
      .execute();
  return { app, alertsInDb };
}

describe.each(storeKinds)("patient-view raises safety alerts on $name", (kind) => {
  it("patient 4: one warning and one critical alert, stored before the response, delivered once each, signed", async () => {
    const receiver = await startReceiver(200);
    cleanup.push(() => receiver.close());
    const { app, alertsInDb } = await setup(() => kind.open(), receiver);

    const first = await request(app)
      .post("/cds-services/iguratimod-safety")
      .send(patient4Request());
    expect(first.status).toBe(200);
    const firstCards = (first.body as { cards: { indicator: string; detail: string }[] }).cards;
    expect(firstCards.map((c) => c.indicator)).toEqual(["critical"]);
    expect(firstCards[0]?.detail).not.toContain("Safety team not notified");
    // Recorded before the response was sent: the rows are there the moment it arrives.
    expect(await alertsInDb()).toEqual([
      { severity: "warning", source: "patient-view", observation: "Observation/kang-04-hb-w07" },
      { severity: "critical", source: "patient-view", observation: "Observation/kang-04-hb-w12" },
    ]);

    const again = await request(app)
      .post("/cds-services/iguratimod-safety")
      .send(patient4Request());
    expect(again.status).toBe(200);
    expect(await alertsInDb()).toHaveLength(2);

    await until(() => receiver.calls.length >= 2);
    await new Promise((r) => setTimeout(r, 300)); // room for a wrong extra delivery to show up
    expect(receiver.calls).toHaveLength(2);
    const bodies = receiver.calls.map((c) => JSON.parse(c.body) as Record<string, unknown>);
    expect(bodies.map((b) => [b.severity, b.observation, b.source]).sort()).toEqual([
      ["critical", "Observation/kang-04-hb-w12", "patient-view"],
      ["warning", "Observation/kang-04-hb-w07", "patient-view"],
    ]);
    for (const call of receiver.calls) {
      const expected = `sha256=${createHmac("sha256", SECRET).update(call.body).digest("hex")}`;
      expect(call.headers["x-ln-cds-signature"]).toBe(expected);
      expect(call.headers["idempotency-key"]).toBe((JSON.parse(call.body) as { id: string }).id);
    }
  }, 30_000);
});

describe("when the alert store fails", () => {
  it("the clinician still gets the cards, told that the safety team was not notified, and the failure is logged as an error", async () => {
    const store = await (storeKinds[0] as (typeof storeKinds)[number]).open();
    const config = testConfig({});
    const { logger: sinkLogger, logs } = captureLogs();
    const sink = createAlertSink({ store: alertStore(store), config, logger: sinkLogger });
    await store.close(); // the database is gone: every write fails
    const { app } = protocolApp({
      services: defaultServices(config),
      alertSink: sink,
      clock: () => NOW,
    });
    const res = await request(app).post("/cds-services/iguratimod-safety").send(patient4Request());
    expect(res.status).toBe(200);
    const cards = (res.body as { cards: { indicator: string; detail: string }[] }).cards;
    expect(cards.map((c) => c.indicator)).toEqual(["critical"]);
    expect(cards[0]?.detail).toContain(
      "**Safety team not notified.** ln-cds could not record the safety-team alert for this finding",
    );
    const errors = logs.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);
    expect(errors.map((e) => e.msg)).toContain("safety alerts could not be recorded");
  });
});
