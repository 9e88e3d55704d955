/**
 * A PostgreSQL that stops answering without closing its connections (a network partition, a
 * frozen server), on a real database behind a TCP relay that holds every byte while frozen:
 * a patient-view's alert write is given ALERT_WRITE_WAIT_MS, then its alerts are queued in the
 * spool and the sink answers "queued" instead of holding the clinician's answer; once the
 * database answers again, the alert is in the store exactly once, whether the stalled write or
 * the spooled copy got there first (docs/cds-contract.md#alerts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { alertId } from "../src/alerts/alert.js";
import { createAlertSink } from "../src/alerts/sink.js";
import { openAlertSpool } from "../src/alerts/spool.js";
import { alertStore } from "../src/alerts/store.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import { testConfig } from "../src/config.js";
import { openStore, type Store } from "../src/store/index.js";
import { captureLogs } from "./support/protocol-app.js";
import { freshPostgresDatabase } from "./support/stores.js";

interface Relay {
  readonly port: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** A TCP relay to `port`; frozen, it holds what either side sends, and passes it on when thawed. */
async function startRelay(host: string, port: number): Promise<Relay> {
  let frozen = false;
  const held: [Socket, Buffer][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const pass = (to: Socket) => (chunk: Buffer) => {
      if (frozen) held.push([to, chunk]);
      else to.write(chunk);
    };
    client.on("data", pass(upstream));
    upstream.on("data", pass(client));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const [to, chunk] of held.splice(0)) to.write(chunk);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function anaemia(n: number): SafetyAlertInput {
  return {
    rule: "anemia",
    severity: "critical",
    grade: 3,
    patient: `Patient/stall-${String(n)}`,
    observation: `Observation/stall-hb-${String(n)}`,
    value: { value: 62, unit: "g/L" },
    effective: "2026-01-10T00:00:00Z",
  };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe("a database that stops answering", () => {
  it("an alert write waits a bounded time, is queued, and is stored once when it answers", async () => {
    const url = new URL(await freshPostgresDatabase());
    const relay = await startRelay(url.hostname, Number(url.port));
    cleanup.push(() => relay.close());
    const relayed = new URL(url);
    relayed.hostname = "127.0.0.1";
    relayed.port = String(relay.port);
    const store: Store = await openStore({ DATABASE_URL: relayed.toString(), SQLITE_PATH: "" });
    cleanup.push(() => store.close());
    const dir = mkdtempSync(join(tmpdir(), "ln-cds-stall-"));
    cleanup.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    // First at the end: a frozen relay would hold the store's close.
    cleanup.push(() => {
      relay.thaw();
    });
    const { logger, logs } = captureLogs();
    const sink = createAlertSink({
      store: alertStore(store),
      config: testConfig({}),
      logger,
      spool: openAlertSpool(join(dir, "alert-spool.jsonl"), logger),
      writeWaitMs: 500,
    });

    expect(await sink.raise([anaemia(1)], "patient-view")).toBe("recorded");

    relay.freeze();
    // Without the bound this would wait for as long as the database stays silent.
    expect(await sink.raise([anaemia(2)], "patient-view")).toBe("queued");
    expect(logs.text()).toContain('"event":"alerts-queued"');
    expect(logs.text()).toContain("the store did not answer within 500 ms");

    relay.thaw();
    await sink.flushQueued();

    const check = new pg.Client({ connectionString: url.toString() });
    await check.connect();
    try {
      const rows = await check.query<{ id: string }>("select id from safety_alert order by id");
      expect(rows.rows.map((r) => r.id)).toEqual([alertId(anaemia(1)), alertId(anaemia(2))].sort());
    } finally {
      await check.end();
    }
  }, 60_000);
});
