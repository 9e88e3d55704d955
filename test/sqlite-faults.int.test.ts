/**
 * SQLite under faults, against a real `ln-cds serve` process (docs/cds-contract.md#alerts):
 *  - another process holds the write lock: the service keeps answering what needs no database,
 *    `/readyz` says 503, and a patient-view whose alert cannot be written still answers, its card
 *    saying "Safety team not yet notified" (the alert waits in the local spool); once the lock is
 *    released, the queued alert is recorded, once, and all is as before;
 *  - the database file is deleted under the running service: `/readyz` says 503 and one fatal
 *    log line names the fault.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anaemiaAnswer } from "./support/patient4-view.js";
import { until } from "./support/alert-stores.js";
import { buildService, startService, type ServiceProcess } from "./support/service-process.js";

let build: ReturnType<typeof buildService> | undefined;
const started: ServiceProcess[] = [];

beforeAll(() => {
  build = buildService();
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  build?.remove();
});

async function serviceOn(path: string): Promise<ServiceProcess> {
  if (!build) throw new Error("no build");
  const service = await startService(build.file, {
    CDS_AUTH: "off",
    LOG_LEVEL: "info",
    SQLITE_PATH: path,
    SQLITE_BUSY_TIMEOUT_MS: "100",
  });
  started.push(service);
  return service;
}

function freshPath(): string {
  return join(mkdtempSync(join(tmpdir(), "ln-cds-sqlite-fault-")), "ln-cds.sqlite");
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

async function anaemiaCard(url: string, patient: string) {
  const { status, anaemia, queued, notNotified } = await anaemiaAnswer(url, patient);
  expect(status).toBe(200);
  expect(anaemia).toBe(true);
  return { queued, notNotified };
}

describe("SQLite write lock held by another process", () => {
  it("readyz 503, the card says the alert is queued; recorded once the lock is released", async () => {
    const path = freshPath();
    const service = await serviceOn(path);
    expect(await status(`${service.url}/readyz`)).toBe(200);

    const other = new SqliteDatabase(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      expect(await status(`${service.url}/healthz`)).toBe(200);
      expect(await status(`${service.url}/readyz`)).toBe(503);
      const t0 = Date.now();
      expect(await anaemiaCard(service.url, "locked-1")).toEqual({
        queued: true,
        notNotified: false,
      });
      console.log(
        `[sqlite lock] patient-view under the lock answered in ${String(Date.now() - t0)} ms`,
      );
      expect(await status(`${service.url}/healthz`)).toBe(200);
      expect(await status(`${service.url}/cds-services`)).toBe(200);
    } finally {
      other.exec("ROLLBACK");
    }
    expect(await status(`${service.url}/readyz`)).toBe(200);
    expect(await anaemiaCard(service.url, "unlocked-1")).toEqual({
      queued: false,
      notNotified: false,
    });
    const rows = () =>
      other.prepare("select patient from safety_alert order by patient").all() as {
        patient: string;
      }[];
    const perPatient = rows().filter((r) => r.patient === "Patient/unlocked-1").length;
    expect(perPatient).toBeGreaterThan(0);
    // The alerts queued under the lock go in within a few spool retries, each once.
    await until(() => rows().length === 2 * perPatient, 10_000);
    await new Promise((r) => setTimeout(r, 1500)); // another retry round: still no duplicate
    const patients = rows().map((r) => r.patient);
    other.close();
    expect(patients.filter((p) => p === "Patient/locked-1")).toHaveLength(perPatient);
    expect(patients.filter((p) => p === "Patient/unlocked-1")).toHaveLength(perPatient);
    expect(service.exited()).toBeUndefined();
  }, 60_000);
});

describe("SQLite file deleted while the service runs", () => {
  it("readyz 503 and one fatal log line", async () => {
    const path = freshPath();
    const service = await serviceOn(path);
    expect(await status(`${service.url}/readyz`)).toBe(200);
    rmSync(path);
    expect(await status(`${service.url}/readyz`)).toBe(503);
    expect(await status(`${service.url}/readyz`)).toBe(503);
    await until(() => service.output.some((l) => l.includes('"database-file-missing"')), 5000);
    const fatal = service.output.filter((l) => l.includes('"database-file-missing"'));
    expect(fatal).toHaveLength(1);
    expect((JSON.parse(fatal[0] ?? "{}") as { level: number }).level).toBe(60);
    expect(await status(`${service.url}/healthz`)).toBe(200);
  }, 60_000);
});
