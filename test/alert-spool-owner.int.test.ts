/**
 * The alert spool's owner is a live process (src/alerts/spool.ts): the socket a killed owner
 * leaves behind is taken over by the next process, while a live owner keeps others out.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openAlertSpool, type AlertSpool } from "../src/alerts/spool.js";
import { createLogger } from "../src/log.js";

const logger = createLogger("silent");
const dir = mkdtempSync(join(tmpdir(), "ln-cds-spool-owner-"));
const spools: AlertSpool[] = [];
afterAll(async () => {
  for (const s of spools) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(path: string): AlertSpool {
  const spool = openAlertSpool(path, logger);
  spools.push(spool);
  return spool;
}

/** A process that owns the spool at `path` (its socket only), and kills it when asked. */
async function ownerProcess(path: string): Promise<{ kill: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(`${path}.owner.sock`)}, () => console.log("up"))`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve) => {
    child.stdout.on("data", () => {
      resolve();
    });
  });
  return {
    kill: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("alert spool owner", () => {
  it("takes over the socket an owner left when it was killed", async () => {
    const path = join(dir, "alert-spool.jsonl");
    const owner = await ownerProcess(path);
    await expect(open(path).check()).rejects.toThrow("another running process");
    await owner.kill();
    expect(existsSync(`${path}.owner.sock`)).toBe(true); // a crash leaves the socket file
    await expect(open(path).check()).resolves.toBeUndefined();
  });

  it("several starting at once after the owner was killed: exactly one takes it, the others are told why", async () => {
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `race-${String(round)}`, "alert-spool.jsonl");
      mkdirSync(join(dir, `race-${String(round)}`));
      await (await ownerProcess(path)).kill();
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => open(path).check()));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") expect(String(r.reason)).toContain("another running process");
      }
      expect(existsSync(`${path}.owner.sock.takeover`)).toBe(false);
    }
  });

  it("does not wait for ever on a takeover left by a process that died holding it", async () => {
    const path = join(dir, "stale-takeover", "alert-spool.jsonl");
    mkdirSync(join(dir, "stale-takeover"));
    await (await ownerProcess(path)).kill();
    const mutex = `${path}.owner.sock.takeover`;
    mkdirSync(mutex);
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(mutex, minuteAgo, minuteAgo);
    await expect(open(path).check()).resolves.toBeUndefined();
    expect(existsSync(mutex)).toBe(false);
    // And it owns the spool: the next one is refused.
    await expect(open(path).check()).rejects.toThrow("another running process");
  });
});
