/**
 * The safety monitor's throughput: a backlog of changed patients on the demo FHIR server (its own
 * process, every answer delayed as a remote server's would be), drained by the monitor from the
 * watermark just before it, round after round, until the watermark reaches the last change.
 * Figures are patients evaluated per second.
 *
 * The patients (`monitorBacklog`) are on iguratimod with a baseline hemoglobin; each has one new
 * hemoglobin after the watermark, every tenth of them low enough for a warning alert.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FhirResource, MedicationStatement, Patient } from "fhir/r4.js";
import type { Kysely } from "kysely";
import { startMonitor, WATERMARK_KEY, type MonitorRound } from "../src/alerts/monitor.js";
import { migrations } from "../src/store/migrations.js";
import { benchSqlite } from "./sqlite.js";
import { createAlertSink } from "../src/alerts/sink.js";
import { alertStore } from "../src/alerts/store.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { DAY_MS, labObservation } from "../fixtures/fhir.js";

export interface MonitorBacklog {
  readonly resources: FhirResource[];
  /** The watermark the monitor starts from: every new hemoglobin is after it. */
  readonly since: string;
  /** The stamp of the last new hemoglobin: the watermark once every patient is evaluated. */
  readonly last: string;
}

export function monitorBacklog(now: Date, patients: number): MonitorBacklog {
  const at = (ms: number) => new Date(ms).toISOString();
  const old = { lastUpdated: at(now.getTime() - 30 * DAY_MS) };
  const first = now.getTime() - 3_600_000;
  const resources: FhirResource[] = [];
  for (let i = 0; i < patients; i++) {
    const id = `monitor-${String(i)}`;
    const patient: Patient = {
      resourceType: "Patient",
      id,
      gender: "female",
      birthDate: "1985-06-01",
      meta: old,
    };
    const course: MedicationStatement = {
      resourceType: "MedicationStatement",
      id: `${id}-iguratimod`,
      status: "active",
      medicationCodeableConcept: { text: "iguratimod 25 mg twice daily" },
      subject: { reference: `Patient/${id}` },
      effectivePeriod: { start: at(now.getTime() - 120 * DAY_MS) },
      meta: old,
    };
    const hb = (key: string, daysAgo: number, gPerDl: number) =>
      labObservation({
        id: `${id}-hb-${key}`,
        patientId: id,
        loinc: "718-7",
        display: "Hemoglobin [Mass/volume] in Blood",
        effectiveDateTime: at(now.getTime() - daysAgo * DAY_MS),
        value: gPerDl,
        unit: "g/dL",
      });
    resources.push(
      patient,
      course,
      { ...hb("base", 125, 12.6), meta: old },
      { ...hb("new", 1, i % 10 === 0 ? 9.2 : 12.3), meta: { lastUpdated: at(first + i) } },
    );
  }
  return {
    resources,
    since: at(first - 1),
    last: at(first + patients - 1),
  };
}

export interface MonitorBenchFigure {
  readonly patients: number;
  readonly requestDelayMs: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly patientsPerSecond: number;
  readonly rounds: number;
  readonly alerts: number;
  /** false when the watermark had not reached the last change after `maxSeconds`. */
  readonly drained: boolean;
}

/** Drains the backlog on `fhirUrl` (holding `monitorBacklog(…, patients)`), on SQLite. */
export async function benchMonitor(options: {
  readonly fhirUrl: string;
  readonly backlog: MonitorBacklog;
  readonly patients: number;
  readonly requestDelayMs: number;
  readonly concurrency: number;
  readonly maxSeconds: number;
}): Promise<MonitorBenchFigure> {
  const dir = mkdtempSync(join(tmpdir(), "ln-cds-bench-monitor-"));
  const db = benchSqlite(dir);
  try {
    // Every migration of the real store, in order (the alert tables, their status, …).
    for (const m of Object.values(migrations)) await m.up(db as Kysely<unknown>);
    await db
      .insertInto("monitor_state")
      .values({ name: WATERMARK_KEY, value: options.backlog.since })
      .execute();
    const store = alertStore({ db, dialect: "sqlite" });
    const config = testConfig({
      MONITOR_FHIR_SERVER: options.fhirUrl,
      MONITOR_INTERVAL: "3600",
      MONITOR_CONCURRENCY: String(options.concurrency),
    });
    const logger = createLogger("silent");
    const sink = createAlertSink({ store, config, logger });
    const monitor = startMonitor({ store, config, logger, sink, intervalMs: 3_600_000 });
    const started = performance.now();
    const rounds: MonitorRound[] = [];
    try {
      while (performance.now() - started < options.maxSeconds * 1000) {
        const round = await monitor.runOnce();
        rounds.push(round);
        if (round.watermark === options.backlog.last) break;
      }
    } finally {
      await monitor.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const drained = rounds.at(-1)?.watermark === options.backlog.last;
    // Drained: every patient of the backlog was evaluated (the timer's own first round, queued
    // between the loop's first two, did part of it). Else the loop's rounds' count, a lower bound.
    const evaluated = drained ? options.patients : rounds.reduce((n, r) => n + r.evaluated, 0);
    const alerts = await db
      .selectFrom("safety_alert")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return {
      patients: evaluated,
      requestDelayMs: options.requestDelayMs,
      concurrency: options.concurrency,
      seconds,
      patientsPerSecond: evaluated / seconds,
      rounds: rounds.length,
      alerts: alerts.n,
      drained,
    };
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
