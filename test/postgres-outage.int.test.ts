/**
 * A real `ln-cds serve` process on a PostgreSQL cluster of this test's own, under a steady load
 * of patient-view calls that raise safety alerts, while the database's sessions are terminated
 * (pg_terminate_backend) and then the database is stopped and started again:
 *  - the process does not die (a lost connection used to be an unheard 'error' event of the pool);
 *  - `/readyz` answers 503 while the database is away and 200 once it is back;
 *  - the service reconnects by itself and records alerts again;
 *  - no alert is lost: no card says "Safety team not notified"; the answers during the outage say
 *    "Safety team not yet notified" (queued in the local spool), and once the database is back
 *    every answer's alert is in the database (docs/cds-contract.md#alerts).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anaemiaAnswer } from "./support/patient4-view.js";
import { until } from "./support/alert-stores.js";
import { startPostgresCluster, type PostgresCluster } from "./support/postgres-cluster.js";
import { buildService, startService, type ServiceProcess } from "./support/service-process.js";

const NOW = new Date();

let build: ReturnType<typeof buildService> | undefined;
let cluster: PostgresCluster | undefined;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  build = buildService();
  cluster = await startPostgresCluster();
  service = await startService(build.file, {
    CDS_AUTH: "off",
    LOG_LEVEL: "info",
    DATABASE_URL: cluster.url,
    // The worker and the readiness probe touch the database too; keep the worker quiet.
    WORKER_POLL_MS: "200",
  });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  cluster?.remove();
  build?.remove();
});

interface Answer {
  patient: string;
  status: number;
  /** The anaemia card, and whether it says that its alert was queued, or lost. */
  anaemia: boolean;
  queued: boolean;
  notNotified: boolean;
  at: number;
}

async function patientView(url: string, patient: string): Promise<Answer> {
  const at = Date.now();
  try {
    const { status, anaemia, queued, notNotified } = await anaemiaAnswer(url, patient, NOW);
    return { patient, status, anaemia, queued, notNotified, at };
  } catch {
    return { patient, status: -1, anaemia: false, queued: false, notNotified: false, at };
  }
}

describe("PostgreSQL lost and restarted under a running service", () => {
  it("no crash, /readyz 503 then 200, reconnects, and no alert is lost", async () => {
    if (!service || !cluster) throw new Error("set-up failed");
    const { url } = service;
    const db = cluster;
    const answers: Answer[] = [];
    const ready: { at: number; status: number }[] = [];
    const state = { running: true };
    let next = 0;
    const alive = (): void => {
      if (service?.exited() !== undefined) {
        throw new Error(`the service exited:\n${service.output.slice(-20).join("\n")}`);
      }
    };

    const load = Array.from({ length: 4 }, async () => {
      while (state.running) {
        next += 1;
        answers.push(await patientView(url, `pg-outage-${String(next)}`));
      }
    });
    const probe = (async () => {
      while (state.running) {
        const at = Date.now();
        const status = await fetch(`${url}/readyz`).then(
          (r) => r.status,
          () => -1,
        );
        ready.push({ at, status });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    try {
      const recorded = () => answers.filter((a) => a.anaemia && !a.queued).length;
      await until(() => {
        alive();
        return recorded() >= 10;
      }, 30_000);

      // 1. Every session of the service is terminated (an administrator, a failover).
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'",
      );
      await admin.end();
      const afterTerminate = recorded();
      await until(() => {
        alive();
        return recorded() >= afterTerminate + 10;
      }, 30_000);

      // 2. The database goes away, then comes back.
      db.stop();
      const stoppedAt = Date.now();
      await until(() => {
        alive();
        return ready.some((r) => r.at >= stoppedAt && r.status === 503);
      }, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      db.start();
      const startedAt = Date.now();
      await until(() => {
        alive();
        return ready.some((r) => r.at >= startedAt && r.status === 200);
      }, 30_000);
      await until(() => {
        alive();
        return answers.filter((a) => a.at >= startedAt && a.anaemia && !a.queued).length >= 10;
      }, 30_000);
    } finally {
      state.running = false;
      await Promise.all([...load, probe]);
    }

    alive();
    console.log(
      `[postgres outage] answers: ${String(answers.length)}, said "not yet notified": ${String(answers.filter((a) => a.queued).length)}, readyz 503s: ${String(ready.filter((r) => r.status === 503).length)}`,
    );
    expect(answers.every((a) => a.status === 200 && a.anaemia)).toBe(true);
    expect(answers.some((a) => a.queued)).toBe(true); // the outage was seen by the sink
    expect(answers.filter((a) => a.notNotified)).toEqual([]); // and no alert was lost

    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    const missing = async (): Promise<string[]> => {
      const rows = await check.query<{ patient: string }>(
        "select distinct patient from safety_alert",
      );
      const stored = new Set(rows.rows.map((r) => r.patient));
      return answers.map((a) => `Patient/${a.patient}`).filter((p) => !stored.has(p));
    };
    try {
      // The queued alerts go in within a few spool retries.
      await until(async () => (await missing()).length === 0, 15_000).catch(() => undefined);
      expect(await missing()).toEqual([]);
    } finally {
      await check.end();
    }
  }, 180_000);
});
