/**
 * Delivery-worker throughput: N alerts raised, then timed from the
 * worker's start until a local receiver has every one, on SQLite and (when a PostgreSQL URL is
 * given) on PostgreSQL. Figures are alerts delivered per second.
 *
 *   node dist/bench/alerts.js [count]     (BENCH_DATABASE_URL or DATABASE_URL for PostgreSQL)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { AlertTables } from "../src/alerts/schema.js";
import { migrations } from "../src/store/migrations.js";
import { benchSqlite } from "./sqlite.js";
import { createAlertSink } from "../src/alerts/sink.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import { startDeliveryWorker } from "../src/alerts/worker.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";

export interface AlertBenchFigure {
  database: "sqlite" | "postgres";
  alerts: number;
  seconds: number;
  alertsPerSecond: number;
}

async function runOne(
  database: "sqlite" | "postgres",
  db: Kysely<AlertTables>,
  count: number,
): Promise<AlertBenchFigure> {
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.statusCode = 204;
      res.end();
      received += 1;
      if (received >= count) done();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  const config = testConfig({
    SAFETY_WEBHOOKS: JSON.stringify([{ url: `${origin}/hook`, secret: "bench-secret-0123456789" }]),
    WEBHOOK_ALLOWLIST: origin,
    WORKER_POLL_MS: "5",
  });
  const logger = createLogger("silent");
  const store = { db, dialect: database };
  // Every migration of the real store, in order (the alert tables, their status, …).
  for (const m of Object.values(migrations)) await m.up(db as Kysely<unknown>);
  const alerts: SafetyAlertInput[] = Array.from({ length: count }, (_, i) => ({
    rule: "anemia",
    severity: "critical",
    grade: 3,
    patient: `Patient/bench-${String(i)}`,
    observation: `Observation/bench-hb-${String(i)}`,
    value: { value: 60, unit: "g/L" },
    effective: "2024-01-01T00:00:00Z",
  }));
  await createAlertSink({ store, config, logger }).record(alerts, "monitor");
  const started = performance.now();
  const worker = startDeliveryWorker({ store, config, logger, batchSize: 100 });
  await all;
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return { database, alerts: count, seconds, alertsPerSecond: Math.round(count / seconds) };
}

/** Throughput on SQLite, and on PostgreSQL when `postgresUrl` is given (a scratch database is created and dropped). */
export async function benchAlerts(
  options: { count?: number; postgresUrl?: string } = {},
): Promise<AlertBenchFigure[]> {
  const count = options.count ?? 2000;
  const figures: AlertBenchFigure[] = [];

  const dir = mkdtempSync(join(tmpdir(), "ln-cds-bench-alerts-"));
  const sqlite = benchSqlite(dir);
  try {
    figures.push(await runOne("sqlite", sqlite, count));
  } finally {
    await sqlite.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  if (options.postgresUrl) {
    const name = `ln_cds_bench_alerts_${String(process.pid)}`;
    const admin = new Kysely<AlertTables>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: options.postgresUrl, max: 1 }),
      }),
    });
    await sql.raw(`DROP DATABASE IF EXISTS ${name}`).execute(admin);
    await sql.raw(`CREATE DATABASE ${name}`).execute(admin);
    const url = new URL(options.postgresUrl);
    url.pathname = `/${name}`;
    const db = new Kysely<AlertTables>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: url.toString(), max: 10 }),
      }),
    });
    try {
      figures.push(await runOne("postgres", db, count));
    } finally {
      await db.destroy();
      await sql.raw(`DROP DATABASE IF EXISTS ${name}`).execute(admin);
      await admin.destroy();
    }
  }
  return figures;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? "2000");
  const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  const figures = await benchAlerts({ count, ...(postgresUrl ? { postgresUrl } : {}) });
  for (const f of figures) {
    console.log(
      `alerts ${f.database}: ${String(f.alerts)} delivered in ${f.seconds.toFixed(2)} s = ${String(f.alertsPerSecond)} alerts/s`,
    );
  }
}
