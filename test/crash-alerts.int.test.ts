/**
 * Crash test as a real process test (docs/cds-contract.md#alerts): a service process raises 100 alerts while the
 * receiver is down, is killed with SIGKILL, restarted, then the receiver comes up. All 100
 * must arrive; duplicates are allowed only for rows in flight at the kill and are counted.
 * Also: two worker replicas (two processes' worth of stores) on one PostgreSQL deliver 500
 * alerts exactly once per webhook.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAlertSink } from "../src/alerts/sink.js";
import { startDeliveryWorker } from "../src/alerts/worker.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import {
  alertStoreKinds,
  freshAlertDatabase,
  openAlertStore,
  startReceiver,
  until,
  type Receiver,
} from "./support/alert-stores.js";
import { buildAlertCode } from "./support/build-alerts.js";

const SECRET = "crash-secret-0123456789abcdef";
let build = "";
beforeAll(() => {
  build = buildAlertCode();
});
afterAll(() => {
  if (build) rmSync(build, { recursive: true, force: true });
});

function startNode(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join("test", "support", "alert-node.mjs")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready\n")) resolve(child);
    });
    child.on("exit", (code) => {
      reject(new Error(`alert node exited early (${String(code)})`));
    });
  });
}

function deliveredIds(receiver: Receiver): string[] {
  return receiver.calls
    .filter((c) => c.status === 200)
    .map((c) => String(c.headers["idempotency-key"]));
}

describe.each(alertStoreKinds)("crash safety on %s", (kind) => {
  it("kill -9 with 100 undelivered alerts: all arrive after restart; duplicates only from in-flight rows", async () => {
    const receiver = await startReceiver(503);
    const location = await freshAlertDatabase(kind);
    const env = {
      ALERT_BUILD: build,
      STORE_KIND: kind,
      STORE_LOCATION: location,
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      CDS_AUTH: "off",
      SAFETY_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]),
      WEBHOOK_ALLOWLIST: receiver.origin,
      WEBHOOK_TIMEOUT_MS: "1000",
      WEBHOOK_BACKOFF_BASE_MS: "50",
      WEBHOOK_BACKOFF_MAX_MS: "200",
      WORKER_POLL_MS: "20",
    };
    try {
      const first = await startNode({ ...env, RAISE: "100" });
      await until(() => receiver.calls.length >= 100, 20_000);
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
      const failedBeforeKill = receiver.calls.length;
      receiver.answer = 200;
      // A generous request timeout after the restart: a 200 that reaches the worker after its
      // timeout (a loaded machine) is rightly sent again (at least once), which would count as a
      // duplicate here though no row was in flight at the kill. The rows the killed process had
      // claimed still come back after its own, short lease.
      const second = await startNode({ ...env, WEBHOOK_TIMEOUT_MS: "20000" });
      try {
        await until(() => new Set(deliveredIds(receiver)).size >= 100, 30_000);
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        second.kill("SIGTERM");
        await new Promise((r) => second.once("exit", r));
      }
      const ids = deliveredIds(receiver);
      const duplicates = ids.length - new Set(ids).size;
      console.log(
        `[crash ${kind}] 503 answers before kill: ${String(failedBeforeKill)}, delivered: ${String(ids.length)}, unique: ${String(new Set(ids).size)}, duplicates: ${String(duplicates)}`,
      );
      expect(new Set(ids).size).toBe(100);
      // Nothing was delivered before the kill (receiver down), so no row can have been
      // delivered and then re-sent: every 200 is a distinct row.
      expect(duplicates).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});

describe.each(alertStoreKinds)("crash mid-delivery on %s", (kind) => {
  it("kill -9 while deliveries are in flight: all 100 arrive; duplicates only for ids in flight at the kill", async () => {
    const receiver = await startReceiver(200);
    receiver.delayMs = 300;
    const location = await freshAlertDatabase(kind);
    const env = {
      ALERT_BUILD: build,
      STORE_KIND: kind,
      STORE_LOCATION: location,
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      CDS_AUTH: "off",
      SAFETY_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]),
      WEBHOOK_ALLOWLIST: receiver.origin,
      WEBHOOK_TIMEOUT_MS: "1000",
      WORKER_POLL_MS: "20",
    };
    try {
      const first = await startNode({ ...env, RAISE: "100" });
      await until(() => receiver.calls.length >= 1, 20_000);
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
      // Requests the dead process had sent are still answered (and counted) by the receiver.
      await new Promise((r) => setTimeout(r, receiver.delayMs + 200));
      const beforeRestart = new Set(deliveredIds(receiver));
      receiver.delayMs = 0;
      // As above: a late 200 resent after a timeout would count as a duplicate not in flight.
      const second = await startNode({ ...env, WEBHOOK_TIMEOUT_MS: "20000" });
      try {
        await until(() => new Set(deliveredIds(receiver)).size >= 100, 30_000);
        // Rows leased by the dead process come back only when their lease runs out: wait until
        // the outbox has nothing pending, so their re-sends (the duplicates) are counted too.
        const check = await openAlertStore(kind, location);
        try {
          await until(async () => {
            const pending = await check.db
              .selectFrom("alert_delivery")
              .select("id")
              .where("status", "=", "pending")
              .execute();
            return pending.length === 0;
          }, 30_000);
        } finally {
          await check.close();
        }
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        second.kill("SIGTERM");
        await new Promise((r) => second.once("exit", r));
      }
      const ids = deliveredIds(receiver);
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      console.log(
        `[crash mid-delivery ${kind}] in flight/answered at kill: ${String(beforeRestart.size)}, delivered calls: ${String(ids.length)}, unique: ${String(counts.size)}, duplicates: ${String(ids.length - counts.size)}`,
      );
      expect(counts.size).toBe(100);
      // A duplicate is only possible for a row whose request was out when the process died.
      for (const id of duplicated) expect(beforeRestart.has(id)).toBe(true);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    } finally {
      await receiver.close();
    }
  });
});

describe.each(alertStoreKinds.filter((k) => k === "postgres"))("two replicas on one %s", (kind) => {
  it("500 alerts are delivered exactly once per webhook by two workers on two stores", async () => {
    const receivers = [await startReceiver(200), await startReceiver(200)];
    const config = testConfig({
      SAFETY_WEBHOOKS: JSON.stringify(receivers.map((r) => ({ url: r.url, secret: SECRET }))),
      WEBHOOK_ALLOWLIST: receivers.map((r) => r.origin).join(","),
      WORKER_POLL_MS: "10",
      // What is tested is that two workers never claim the same row; a POST that a loaded CI
      // machine slows past the default 5 s timeout would be retried (at least once) and counted
      // twice, so the timeout here is long.
      WEBHOOK_TIMEOUT_MS: "20000",
    });
    const logger = createLogger("silent");
    const location = await freshAlertDatabase(kind);
    const storeA = await openAlertStore(kind, location);
    const storeB = await openAlertStore(kind, location);
    const sink = createAlertSink({ store: storeA, config, logger });
    const alerts = Array.from({ length: 500 }, (_, i) => ({
      rule: "liver-injury" as const,
      severity: "critical" as const,
      grade: 3,
      patient: `Patient/rep-${String(i)}`,
      observation: `Observation/rep-alt-${String(i)}`,
      value: { value: 400, unit: "U/L" },
      effective: "2024-01-01T00:00:00Z",
    }));
    await sink.raise(alerts, "monitor");
    const a = startDeliveryWorker({ store: storeA, config, logger, batchSize: 20 });
    const b = startDeliveryWorker({ store: storeB, config, logger, batchSize: 20 });
    try {
      await until(() => receivers.every((r) => r.calls.length >= 500), 30_000);
      await new Promise((r) => setTimeout(r, 300));
      for (const r of receivers) {
        const ids = r.calls.map((c) => String(c.headers["idempotency-key"]));
        expect(ids).toHaveLength(500);
        expect(new Set(ids).size).toBe(500);
      }
    } finally {
      await a.stop();
      await b.stop();
      await storeA.close();
      await storeB.close();
      for (const r of receivers) await r.close();
    }
  });
});
