/**
 * The alert spool's owner is a live process (src/alerts/spool.ts): the socket a killed owner
 * leaves behind is taken over by the next process, while a live owner keeps others out.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
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

describe("alert spool owner", () => {
  it("takes over the socket an owner left when it was killed", async () => {
    const path = join(dir, "alert-spool.jsonl");
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
    await expect(open(path).check()).rejects.toThrow("another running process");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(`${path}.owner.sock`)).toBe(true); // a crash leaves the socket file
    await expect(open(path).check()).resolves.toBeUndefined();
  });
});
