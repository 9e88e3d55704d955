/**
 * No alert lost while PostgreSQL is away (docs/cds-contract.md#alerts), against real
 * `ln-cds serve` processes on a PostgreSQL cluster of this test's own:
 *  - a patient-view that raises alerts while the database is stopped answers its cards, saying
 *    "Safety team not yet notified" (queued), never that the team was notified;
 *  - the process is then killed (SIGKILL) before the database is back; a new process on the same
 *    spool records the queued alerts at start;
 *  - the database goes away again under the new process; a queued alert is recorded once the
 *    database is back, without a restart;
 *  - each alert is stored exactly once, listed by `GET /alerts` with its first detection time,
 *    and delivered to the webhook once; the spool is empty at the end;
 *  - the readiness probe and the delivery worker log the outage in a few lines (the first
 *    failure, then at most one line per 30 s, and the recovery), not one per probe or poll.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anaemiaAnswer } from "./support/patient4-view.js";
import { startReceiver, until, type Receiver } from "./support/alert-stores.js";
import { startPostgresCluster, type PostgresCluster } from "./support/postgres-cluster.js";
import { buildService, startService, type ServiceProcess } from "./support/service-process.js";

const OPERATOR_TOKEN = "spool-outage-operator-token";
const SECRET = "spool-outage-secret-0123456789";

let build: ReturnType<typeof buildService> | undefined;
let cluster: PostgresCluster | undefined;
let receiver: Receiver | undefined;
let spoolDir = "";
const started: ServiceProcess[] = [];

beforeAll(async () => {
  build = buildService();
  cluster = await startPostgresCluster();
  receiver = await startReceiver(200);
  spoolDir = mkdtempSync(join(tmpdir(), "ln-cds-spool-outage-"));
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await receiver?.close();
  cluster?.remove();
  build?.remove();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

async function serve(): Promise<ServiceProcess> {
  if (!build || !cluster || !receiver) throw new Error("set-up failed");
  const service = await startService(build.file, {
    CDS_AUTH: "off",
    LOG_LEVEL: "info",
    DATABASE_URL: cluster.url,
    ALERT_SPOOL_PATH: join(spoolDir, "alert-spool.jsonl"),
    SAFETY_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]),
    WEBHOOK_ALLOWLIST: receiver.origin,
    OPERATOR_TOKEN_SHA256: createHash("sha256").update(OPERATOR_TOKEN).digest("hex"),
    WORKER_POLL_MS: "200",
  });
  started.push(service);
  return service;
}

/** The anaemia card's detail of a patient-view for a copy of study patient 4. */
async function anaemiaDetail(url: string, patient: string): Promise<string> {
  const answer = await anaemiaAnswer(url, patient);
  expect(answer.status).toBe(200);
  if (!answer.anaemia) throw new Error("no anaemia card");
  return answer.detail;
}

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** Polls /readyz every 100 ms until told to stop, as a load balancer would. */
function probe(url: string): { stop(): Promise<number> } {
  const state = { running: true };
  let count = 0;
  const loop = (async () => {
    while (state.running) {
      await readyStatus(url).catch(() => -1);
      count += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      state.running = false;
      await loop;
      return count;
    },
  };
}

function logLines(service: ServiceProcess): { event?: string; msg: string; level: number }[] {
  return service.output.flatMap((l) => {
    try {
      return [JSON.parse(l) as { event?: string; msg: string; level: number }];
    } catch {
      return [];
    }
  });
}

async function storedAlerts(): Promise<{ id: string; patient: string }[]> {
  if (!cluster) throw new Error("no cluster");
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    const rows = await client.query<{ id: string; patient: string }>(
      "select id, patient from safety_alert where patient like 'Patient/spool-%' order by id",
    );
    return rows.rows;
  } finally {
    await client.end();
  }
}

const QUEUED = "**Safety team not yet notified.**";
const LOST = "Safety team not notified";

describe("alerts raised while PostgreSQL is away", () => {
  it("are queued, survive a crash, and are recorded exactly once when it is back", async () => {
    if (!cluster || !receiver) throw new Error("set-up failed");
    const db = cluster;

    // The live path first: how many alerts one such patient-view raises.
    const first = await serve();
    expect(await anaemiaDetail(first.url, "spool-live")).not.toContain("not yet notified");
    const perPatient = (await storedAlerts()).length;
    expect(perPatient).toBeGreaterThan(0);

    // 1. The database stops; a patient-view raises alerts; then the process is killed.
    db.stop();
    await until(async () => (await readyStatus(first.url)) === 503, 15_000);
    const queued = await anaemiaDetail(first.url, "spool-crash");
    expect(queued).toContain(QUEUED);
    expect(queued).not.toContain(LOST);
    // The log line reaches the pipe a moment after the answer.
    await until(() => logLines(first).some((l) => l.event === "alerts-queued"), 5000);
    expect(logLines(first).filter((l) => l.event === "alerts-queued")).toHaveLength(1);
    first.child.kill("SIGKILL");
    await first.stop();
    expect(first.exited()).toBe("SIGKILL");

    // 2. The database is back; a new process on the same spool records what the first queued.
    db.start();
    const second = await serve();
    await until(
      async () =>
        (await storedAlerts()).filter((a) => a.patient === "Patient/spool-crash").length ===
        perPatient,
      15_000,
    );

    // 3. Away again under the running process, for a few seconds of probes and worker polls.
    const probing = probe(second.url);
    db.stop();
    await until(async () => (await readyStatus(second.url)) === 503, 15_000);
    const detectedBefore = new Date().toISOString();
    const again = await anaemiaDetail(second.url, "spool-restart");
    expect(again).toContain(QUEUED);
    await new Promise((r) => setTimeout(r, 3000));
    db.start();
    await until(async () => (await readyStatus(second.url)) === 200, 30_000);
    await until(
      async () =>
        (await storedAlerts()).filter((a) => a.patient === "Patient/spool-restart").length ===
        perPatient,
      15_000,
    );
    const probes = await probing.stop();

    // Exactly once in the store, listed by the operator API, delivered once each.
    const stored = await storedAlerts();
    expect(stored).toHaveLength(3 * perPatient);
    expect(new Set(stored.map((a) => a.id)).size).toBe(stored.length);
    const listing = await fetch(`${second.url}/alerts?limit=500`, {
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(listing.status).toBe(200);
    const { alerts } = (await listing.json()) as {
      alerts: {
        id: string;
        patient: string;
        source: string;
        detectedAt: string;
        recordedAt: string;
      }[];
    };
    const restart = alerts.filter((a) => a.patient === "Patient/spool-restart");
    expect(restart).toHaveLength(perPatient);
    for (const a of restart) {
      expect(a.source).toBe("patient-view");
      // Detected during the outage, recorded after it: the payload keeps the first time.
      expect(a.detectedAt < a.recordedAt).toBe(true);
      expect(a.detectedAt >= detectedBefore).toBe(true);
    }
    await until(() => (receiver?.calls.length ?? 0) >= stored.length, 15_000);
    await new Promise((r) => setTimeout(r, 500)); // room for a wrong extra delivery
    const delivered = receiver.calls.map((c) => String(c.headers["idempotency-key"])).sort();
    expect(delivered).toEqual(stored.map((a) => a.id).sort());

    // Nothing left in the spool; the second process never died.
    // Only the running owner's socket (the one the killed process left was taken over).
    expect(readdirSync(spoolDir)).toEqual(["alert-spool.jsonl.owner.sock"]);
    expect(existsSync(join(spoolDir, "alert-spool.jsonl.draining"))).toBe(false);
    expect(second.exited()).toBeUndefined();

    // The outage in the log: a few lines, not one per probe or poll.
    await until(
      () =>
        logLines(second).filter((l) =>
          ["readiness-failed-recovered", "delivery-worker-failed-recovered"].includes(
            l.event ?? "",
          ),
        ).length === 2,
      5000,
    );
    const lines = logLines(second);
    const count = (event: string) => lines.filter((l) => l.event === event).length;
    console.log(
      `[spool outage] readyz probes: ${String(probes)}, readiness lines: ${String(count("readiness-failed"))}, worker lines: ${String(count("delivery-worker-failed"))}`,
    );
    expect(probes).toBeGreaterThan(20);
    expect(count("readiness-failed")).toBeGreaterThanOrEqual(1);
    expect(count("readiness-failed")).toBeLessThanOrEqual(2);
    expect(count("readiness-failed-recovered")).toBe(1);
    expect(count("delivery-worker-failed")).toBeGreaterThanOrEqual(1);
    expect(count("delivery-worker-failed")).toBeLessThanOrEqual(2);
    expect(count("delivery-worker-failed-recovered")).toBe(1);
    // Nor an error line per /readyz 503 in the access log: a handful of error lines in all.
    const errors = lines.filter((l) => l.level >= 50);
    console.log(`[spool outage] error lines: ${String(errors.length)}`);
    expect(errors.length).toBeLessThanOrEqual(8);
  }, 180_000);
});
