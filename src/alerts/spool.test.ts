import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { openAlertSpool as openSpool, type AlertSpool, type SpooledBatch } from "./spool.js";
import type { SafetyAlertInput } from "./types.js";

const logger = createLogger("silent");
const dirs: string[] = [];
const spools: AlertSpool[] = [];
afterEach(async () => {
  for (const s of spools.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openAlertSpool(path: string, log = logger): AlertSpool {
  const spool = openSpool(path, log);
  spools.push(spool);
  return spool;
}

function spoolFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "ln-cds-spool-test-"));
  dirs.push(dir);
  // A directory that does not exist yet: the first append makes it.
  return join(dir, "sub", "alert-spool.jsonl");
}

function batch(n: number): SpooledBatch {
  const alert: SafetyAlertInput = {
    rule: "anemia",
    severity: "critical",
    grade: 3,
    patient: `Patient/p${String(n)}`,
    observation: `Observation/hb-${String(n)}`,
    value: { value: 60, unit: "g/L" },
    effective: "2026-01-10T00:00:00Z",
  };
  return { alerts: [alert], source: "patient-view", detectedAt: "2026-01-10T01:00:00.000Z" };
}

describe("alert spool", () => {
  it("gives back every batch in order once, and is empty after a complete drain", async () => {
    const path = spoolFile();
    const spool = openAlertSpool(path, logger);
    await spool.append(batch(1));
    await spool.append(batch(2));
    const seen: SpooledBatch[] = [];
    expect(
      await spool.drain((b) => {
        seen.push(b);
        return Promise.resolve();
      }),
    ).toBe(2);
    expect(seen).toEqual([batch(1), batch(2)]);
    expect(existsSync(path)).toBe(false);
    expect(spool.pending()).toBe(false);
    expect(await spool.drain(() => Promise.reject(new Error("not called")))).toBe(0);
  });

  it("keeps every batch when recording fails, and gives them again (with later ones) next time", async () => {
    const path = spoolFile();
    const spool = openAlertSpool(path, logger);
    await spool.append(batch(1));
    await spool.append(batch(2));
    let calls = 0;
    await expect(
      spool.drain(() => {
        calls += 1;
        return calls === 2 ? Promise.reject(new Error("database away")) : Promise.resolve();
      }),
    ).rejects.toThrow("database away");
    expect(spool.pending()).toBe(true);
    await spool.append(batch(3));
    const seen: string[] = [];
    await spool.drain((b) => {
      seen.push(b.alerts[0]?.patient ?? "");
      return Promise.resolve();
    });
    // Batch 1 again too: recorded twice is stored once (deterministic ids, ON CONFLICT).
    expect(seen).toEqual(["Patient/p1", "Patient/p2", "Patient/p3"]);
  });

  it("a batch appended while a drain records is not lost", async () => {
    const path = spoolFile();
    const spool = openAlertSpool(path, logger);
    await spool.append(batch(1));
    const seen: string[] = [];
    await spool.drain(async (b) => {
      seen.push(b.alerts[0]?.patient ?? "");
      await spool.append(batch(2)); // lands in a new file, not the one being drained
    });
    expect(spool.pending()).toBe(true);
    await spool.drain((b) => {
      seen.push(b.alerts[0]?.patient ?? "");
      return Promise.resolve();
    });
    expect(seen).toEqual(["Patient/p1", "Patient/p2"]);
  });

  it("a new process reads what an earlier one left, skipping a line torn by a crash", async () => {
    const path = spoolFile();
    const first = openAlertSpool(path, logger);
    await first.append(batch(1));
    appendFileSync(path, '{"alerts":[{"rule":"anem'); // the write a crash cut short
    await first.close();
    const next = openAlertSpool(path, logger);
    expect(next.pending()).toBe(true);
    await next.append(batch(2)); // starts on a line of its own
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(3);
    const seen: string[] = [];
    expect(
      await next.drain((b) => {
        seen.push(b.alerts[0]?.patient ?? "");
        return Promise.resolve();
      }),
    ).toBe(2);
    expect(seen).toEqual(["Patient/p1", "Patient/p2"]);
  });

  it("a spool that cannot be written says so at the check and at each append", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ln-cds-spool-test-"));
    dirs.push(dir);
    const notADirectory = join(dir, "file");
    writeFileSync(notADirectory, "");
    const spool = openAlertSpool(join(notADirectory, "alert-spool.jsonl"), logger);
    await expect(spool.check()).rejects.toThrow();
    await expect(spool.append(batch(1))).rejects.toThrow();
    await expect(openAlertSpool(spoolFile(), logger).check()).resolves.toBeUndefined();
  });

  it("belongs to one live process: a second one is refused, and may take it once the first is gone", async () => {
    const path = spoolFile();
    const first = openAlertSpool(path);
    await first.check();
    await first.append(batch(1));
    const second = openAlertSpool(path);
    await expect(second.check()).rejects.toThrow("another running process uses the alert spool");
    await expect(second.append(batch(2))).rejects.toThrow("another running process");
    // It does not drain what the first one holds.
    expect(await second.drain(() => Promise.reject(new Error("not called")))).toBe(0);
    await first.close();
    const third = openAlertSpool(path);
    await third.check();
    const seen: string[] = [];
    await third.drain((b) => {
      seen.push(b.alerts[0]?.patient ?? "");
      return Promise.resolve();
    });
    expect(seen).toEqual(["Patient/p1"]);
  });
});
