import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { alertId } from "../src/alerts/alert.js";
import { createAlertSink } from "../src/alerts/sink.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import { startDeliveryWorker, type DeliveryWorker } from "../src/alerts/worker.js";
import { safetyAlertPayloadSchema } from "../src/alerts/wire.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import type { FhirResource } from "fhir/r4.js";
import { studyPatientBundles } from "../fixtures/index.js";
import { alertInputsFromEvents } from "../src/alerts/from-events.js";
import { safetyAlertEvents } from "../src/clinical/safety.js";
import { normalisePatient } from "../src/fhir/normalise/index.js";
import {
  alertStoreKinds,
  openAlertStore,
  startReceiver,
  until,
  type OpenedAlertStore,
  type Receiver,
} from "./support/alert-stores.js";

const logger = createLogger("silent");
const SECRET = "test-secret-0123456789abcdef";

/** Patient 4 of the study (kang-04): Hb 80 g/L at week 7 (warning), 32 g/L at week 12 (critical). */
const patient4: SafetyAlertInput[] = [
  {
    rule: "anemia",
    severity: "warning",
    grade: 2,
    patient: "Patient/kang-04",
    observation: "Observation/kang-04-hb-w7",
    value: { value: 80, unit: "g/L" },
    baseline: { value: 118, unit: "g/L" },
    effective: "2019-02-19T00:00:00Z",
  },
  {
    rule: "anemia",
    severity: "critical",
    grade: 4,
    patient: "Patient/kang-04",
    observation: "Observation/kang-04-hb-w12",
    value: { value: 32, unit: "g/L" },
    baseline: { value: 118, unit: "g/L" },
    effective: "2019-03-26T00:00:00Z",
  },
];

function manyAlerts(n: number, prefix = "p"): SafetyAlertInput[] {
  return Array.from({ length: n }, (_, i) => ({
    rule: "liver-injury" as const,
    severity: "warning" as const,
    grade: 2,
    patient: `Patient/${prefix}-${i}`,
    observation: `Observation/${prefix}-alt-${i}`,
    value: { value: 130, unit: "U/L" },
    effective: "2024-01-01T00:00:00Z",
  }));
}

function configFor(receivers: Receiver[], extra: Record<string, string> = {}) {
  return testConfig({
    SAFETY_WEBHOOKS: JSON.stringify(receivers.map((r) => ({ url: r.url, secret: SECRET }))),
    WEBHOOK_ALLOWLIST: receivers.map((r) => r.origin).join(","),
    WEBHOOK_TIMEOUT_MS: "2000",
    WEBHOOK_BACKOFF_BASE_MS: "100",
    WEBHOOK_BACKOFF_MAX_MS: "800",
    WORKER_POLL_MS: "20",
    ...extra,
  });
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

describe.each(alertStoreKinds)("safety alerts on %s", (kind) => {
  async function setup(receiverCount = 1, answer = 200) {
    const receivers: Receiver[] = [];
    for (let i = 0; i < receiverCount; i++) {
      const r = await startReceiver(answer);
      receivers.push(r);
      cleanup.push(() => r.close());
    }
    const store: OpenedAlertStore = await openAlertStore(kind);
    cleanup.push(() => store.close());
    const config = configFor(receivers);
    const sink = createAlertSink({ store, config, logger });
    return { receivers, store, config, sink };
  }
  function run(worker: DeliveryWorker) {
    cleanup.push(() => worker.stop());
    return worker;
  }

  it("patient 4 raises one warning and one critical alert; raising again adds nothing; the webhook gets each once, signed", async () => {
    const { receivers, store, config, sink } = await setup(1);
    await sink.raise(patient4, "patient-view");
    await sink.raise(patient4, "patient-view");
    await sink.raise(patient4, "monitor");
    const rows = await store.db
      .selectFrom("safety_alert")
      .selectAll()
      .orderBy("created_at")
      .execute();
    expect(rows.map((r) => r.severity).sort()).toEqual(["critical", "warning"]);
    expect(await store.db.selectFrom("alert_delivery").selectAll().execute()).toHaveLength(2);

    run(startDeliveryWorker({ store, config, logger }));
    const receiver = receivers[0]!;
    await until(() => receiver.calls.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.calls).toHaveLength(2);
    for (const call of receiver.calls) {
      const expected = `sha256=${createHmac("sha256", SECRET).update(call.body).digest("hex")}`;
      expect(call.headers["x-ln-cds-signature"]).toBe(expected);
      expect(call.headers["content-type"]).toBe("application/json");
      // The body a real receiver got fits the contract's schema, keys in the schema's order.
      const raw: unknown = JSON.parse(call.body);
      const body = safetyAlertPayloadSchema.parse(raw);
      expect(Object.keys(raw as object)).toEqual(Object.keys(body));
      expect(call.headers["idempotency-key"]).toBe(body.id);
      expect(body.type).toBe("ln-cds.safety-alert");
      expect(body.source).toBe("patient-view");
      expect(typeof body.detectedAt).toBe("string");
    }
    const ids = receiver.calls
      .map((c) => safetyAlertPayloadSchema.parse(JSON.parse(c.body)).id)
      .sort();
    expect(ids).toEqual(patient4.map(alertId).sort());
    await until(async () => {
      const d = await store.db.selectFrom("alert_delivery").select("status").execute();
      return d.every((x) => x.status === "delivered");
    });
  });

  it("patient 4's fixture through the clinical safety rules raises warning (week 7) and critical (week 12) once", async () => {
    const { store, sink } = await setup(1);
    const now = new Date();
    const bundle = studyPatientBundles(now).find((b) =>
      (b.entry ?? []).some(
        (e) => e.resource?.resourceType === "Patient" && e.resource.id === "kang-04",
      ),
    );
    const resources = (bundle?.entry ?? []).map((e) => e.resource as FhirResource);
    const inputs = alertInputsFromEvents(safetyAlertEvents(normalisePatient(resources, now), now));
    await sink.raise(inputs, "patient-view");
    await sink.raise(inputs, "patient-view");
    const rows = await store.db.selectFrom("safety_alert").selectAll().execute();
    expect(rows.map((r) => [r.severity, r.observation]).sort()).toEqual([
      ["critical", "Observation/kang-04-hb-w12"],
      ["warning", "Observation/kang-04-hb-w07"],
    ]);
  });

  it("each webhook gets its own outbox row and delivery", async () => {
    const { receivers, sink, store, config } = await setup(2);
    await sink.raise(patient4, "patient-view");
    run(startDeliveryWorker({ store, config, logger }));
    await until(() => receivers.every((r) => r.calls.length >= 2));
    expect(receivers.map((r) => r.calls.length)).toEqual([2, 2]);
  });

  it("a receiver answering 503 gets everything after it recovers, with growing backoff", async () => {
    const { receivers, sink, store, config } = await setup(1, 503);
    const receiver = receivers[0]!;
    await sink.raise(patient4.slice(0, 1), "patient-view");
    run(startDeliveryWorker({ store, config, logger }));
    await until(() => receiver.calls.length >= 5, 15_000);
    receiver.answer = 200;
    await until(() => receiver.calls.some((c) => c.status === 200), 15_000);
    const times = receiver.calls.map((c) => c.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // base 100 ms doubling, capped at 800, equal jitter: gap n lies in [cap/2, cap + poll slack].
    for (const [i, gap] of gaps.slice(0, 4).entries()) {
      const cap = Math.min(800, 100 * 2 ** i);
      expect(gap).toBeGreaterThanOrEqual(cap / 2 - 5);
      expect(gap).toBeLessThanOrEqual(cap + 250);
    }
    expect(gaps[3]!).toBeGreaterThan(gaps[0]!);
    // The receiver logs its 200 as it answers; the worker records "delivered" just after.
    await until(async () => {
      const d = await store.db.selectFrom("alert_delivery").select("status").executeTakeFirst();
      return d?.status === "delivered";
    });
    expect(receiver.calls.filter((c) => c.status === 200)).toHaveLength(1);
  });

  it("rows older than the maximum age are dead-lettered as failed", async () => {
    const { receivers, store } = await setup(1, 500);
    const config = configFor(receivers, { WEBHOOK_MAX_AGE_HOURS: "0.00001" }); // 36 ms
    const sink = createAlertSink({ store, config, logger });
    await sink.raise(patient4.slice(0, 1), "patient-view");
    run(startDeliveryWorker({ store, config, logger }));
    await until(async () => {
      const d = await store.db.selectFrom("alert_delivery").select("status").executeTakeFirst();
      return d?.status === "failed";
    });
    expect(receivers[0]!.calls.length).toBeGreaterThanOrEqual(1);
  });

  it("a store failure is logged, never thrown, and raise says it failed", async () => {
    const { store, config } = await setup(1);
    const sink = createAlertSink({ store, config, logger });
    await expect(sink.raise(patient4.slice(0, 1), "patient-view")).resolves.toBe("recorded");
    await store.close();
    await expect(sink.raise(patient4, "patient-view")).resolves.toBe("failed");
    expect(sink.raisedCount()).toBe(1); // the one before the failure
  });

  it("stop() finishes the in-flight request before resolving", async () => {
    const { receivers, sink, store, config } = await setup(1);
    await sink.raise(manyAlerts(20), "monitor");
    const worker = startDeliveryWorker({ store, config, logger });
    await until(() => receivers[0]!.calls.length > 0);
    await worker.stop();
    const delivered = await store.db
      .selectFrom("alert_delivery")
      .select("id")
      .where("status", "=", "delivered")
      .execute();
    expect(delivered.length).toBe(receivers[0]!.calls.length);
  });

  it("500 alerts are delivered once each", async () => {
    const { receivers, sink, store, config } = await setup(1);
    await sink.raise(manyAlerts(500), "monitor");
    run(startDeliveryWorker({ store, config, logger }));
    await until(() => receivers[0]!.calls.length >= 500, 30_000);
    const ids = new Set(receivers[0]!.calls.map((c) => c.headers["idempotency-key"]));
    expect(ids.size).toBe(500);
    expect(receivers[0]!.calls).toHaveLength(500);
  });
});
