/**
 * The alert spool: safety alerts that the store could not take, kept in a local append-only file
 * until the store takes them (docs/cds-contract.md#alerts).
 *
 * Why a file, and not the monitor: the monitor is off unless MONITOR_INTERVAL is set, it reads
 * its own FHIR server (a patient-view may have come with prefetch that no server of the monitor
 * holds), and its watermark follows `meta.lastUpdated`, not what a patient-view saw, so an
 * Observation older than its watermark is never read again. Nothing else would bring back an
 * alert whose write failed during a database outage.
 *
 * Each batch is one JSON line, written with `O_APPEND` and fsynced (and the directory after it),
 * before the patient-view answers "queued": a crash after that loses nothing, because the spool
 * is read again at start. Draining moves the file aside (`<path>.draining`) under the same lock
 * as the appends, so a batch queued meanwhile lands in a new file and is never removed unread;
 * the moved file is recorded batch by batch and removed only once every batch is committed. A
 * crash or a new failure in between leaves it in place to be recorded again: alert ids are
 * deterministic and the insert is `ON CONFLICT DO NOTHING`, so a batch recorded twice is stored
 * once. A line torn by a crash during its write was never answered as queued; it is skipped with
 * a warning.
 *
 * One process per spool file: replicas each have their own (a local path, not a shared volume).
 * The rule is enforced, because two processes appending to and draining one file could remove a
 * batch unread: the owner listens on a Unix socket beside the file (`<path>.owner.sock`), which
 * the kernel stops answering when the owner dies. A second live process finds it answering and
 * runs without a spool (its alerts during an outage are "failed", and its cards say so); a socket
 * left by a crashed owner answers nothing and is taken over, by one process at a time (several
 * started at once after a crash would otherwise each remove the socket another had just made,
 * and each believe it the owner).
 */
import { constants } from "node:fs";
import { access, mkdir, open, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { AlertSource, SafetyAlertInput } from "./types.js";

export interface SpooledBatch {
  readonly alerts: readonly SafetyAlertInput[];
  readonly source: AlertSource;
  /** When the alerts were detected (ISO 8601): the payload's `detectedAt` once recorded. */
  readonly detectedAt: string;
}

export interface AlertSpool {
  readonly path: string;
  /** Appends the batch and fsyncs it; rejects when it could not be made durable. */
  append(batch: SpooledBatch): Promise<void>;
  /**
   * Records every queued batch with `record`, oldest first, and removes them once all are
   * committed; rejects (keeping them) when a record fails. Resolves with the batches recorded.
   * Calls made while a drain runs share it.
   */
  drain(record: (batch: SpooledBatch) => Promise<void>): Promise<number>;
  /** Whether batches may be waiting (false after a complete drain with no append since). */
  pending(): boolean;
  /**
   * Rejects when the spool cannot be used: its directory cannot be made or written, or another
   * running process owns the file (checked at start).
   */
  check(): Promise<void>;
  /** Gives up the ownership (at shutdown). */
  close(): Promise<void>;
}

/** Longest Unix socket path (sun_path is 108 bytes on Linux; longer ones would be cut short). */
const MAX_SOCKET_PATH_BYTES = 100;

class SpoolTaken extends Error {
  override name = "SpoolTaken";
}

function listenOn(socketPath: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((c) => c.destroy());
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      server.unref();
      resolve(server);
    });
  });
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socketPath);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => {
      resolve(false);
    });
  });
}

/** The owner's socket, or undefined when the path is too long to guard (logged). */
async function claim(path: string, logger: Logger): Promise<Server | undefined> {
  const socketPath = `${path}.owner.sock`;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    logger.warn(
      { event: "alert-spool-unguarded", spool: path },
      "the alert spool path is too long for its owner socket: give each process its own ALERT_SPOOL_PATH",
    );
    return undefined;
  }
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      return await listenOn(socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    }
    if (await answers(socketPath)) {
      throw new SpoolTaken(
        `another running process uses the alert spool ${path}: give each process its own ALERT_SPOOL_PATH`,
      );
    }
    // Left by an owner that died. Undefined: another process was taking it over, so look again
    // (it answers now, or that process gave up).
    const server = await takeOver(socketPath);
    if (server !== undefined) return server;
  }
}

/**
 * A taking-over process holds this directory beside the socket while it checks, removes and
 * makes the socket again: making a directory is atomic, so only one holds it. One left by a
 * process that died while it held it (a few milliseconds' window) is removed once it is this old.
 */
const TAKEOVER_STALE_MS = 10_000;
const TAKEOVER_POLL_MS = 10;

/**
 * The owner's socket made again in place of a dead owner's, or undefined when another process
 * held the takeover (after waiting for it to let go) or made the socket first.
 */
async function takeOver(socketPath: string): Promise<Server | undefined> {
  const mutex = `${socketPath}.takeover`;
  try {
    await mkdir(mutex);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await released(mutex);
    return undefined;
  }
  try {
    // Another process may have finished a takeover before this one began.
    if (await answers(socketPath)) return undefined;
    await unlink(socketPath).catch(() => undefined);
    try {
      return await listenOn(socketPath);
    } catch (err) {
      // A process that started just now made it in the gap: it is the owner.
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") return undefined;
      throw err;
    }
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}

/** Resolves once the takeover directory is gone, removing it when it is stale. */
async function released(mutex: string): Promise<void> {
  for (;;) {
    let made: number;
    try {
      made = (await stat(mutex)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    if (Date.now() - made > TAKEOVER_STALE_MS) {
      await rmdir(mutex).catch(() => undefined);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, TAKEOVER_POLL_MS));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Makes a created, renamed or removed directory entry durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isBatch(value: unknown): value is SpooledBatch {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Array.isArray(v.alerts) &&
    (v.source === "patient-view" || v.source === "monitor") &&
    typeof v.detectedAt === "string"
  );
}

export function openAlertSpool(path: string, logger: Logger): AlertSpool {
  const dir = dirname(path);
  const draining = `${path}.draining`;
  // Unknown at start (a previous process may have left batches): look once.
  let dirty = true;
  let lock: Promise<unknown> = Promise.resolve();
  let current: Promise<number> | undefined;
  const owner = claim(path, logger);
  // Heard here; `check`, `append` and `drain` each see the failure themselves.
  owner.catch(() => undefined);

  /** Appends and the move aside run one at a time. */
  function locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  }

  async function recordFile(
    file: string,
    record: (batch: SpooledBatch) => Promise<void>,
  ): Promise<number> {
    const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l.trim() !== "");
    let recorded = 0;
    for (const line of lines) {
      let batch: unknown;
      try {
        batch = JSON.parse(line);
      } catch {
        batch = undefined;
      }
      if (!isBatch(batch)) {
        logger.warn(
          { event: "alert-spool-torn-line", spool: path },
          "alert spool: a line that is not a whole batch was skipped (a write cut short)",
        );
        continue;
      }
      await record(batch);
      recorded += 1;
    }
    await unlink(file);
    await syncDirectory(dir);
    return recorded;
  }

  async function drainOnce(record: (batch: SpooledBatch) => Promise<void>): Promise<number> {
    try {
      await owner;
    } catch {
      // Not ours (or unusable): nothing to drain here; `check` said why at start.
      dirty = false;
      return 0;
    }
    dirty = false;
    try {
      let recorded = 0;
      // Left by an earlier drain that failed or was cut short by a crash.
      if (await exists(draining)) recorded += await recordFile(draining, record);
      const moved = await locked(async () => {
        if (!(await exists(path))) return false;
        await rename(path, draining);
        await syncDirectory(dir);
        return true;
      });
      if (moved) recorded += await recordFile(draining, record);
      return recorded;
    } catch (err) {
      dirty = true;
      throw err;
    }
  }

  return {
    path,
    append(batch) {
      const line = `${JSON.stringify(batch)}\n`;
      return locked(async () => {
        await owner;
        await mkdir(dir, { recursive: true });
        const handle = await open(path, "a", 0o600);
        try {
          // A write cut short (disk full) leaves a line without its newline: start on a new one,
          // so the torn line is skipped alone and this batch stays readable.
          const { size } = await handle.stat();
          let prefix = "";
          if (size > 0) {
            const last = Buffer.alloc(1);
            const reader = await open(path, "r");
            try {
              await reader.read(last, 0, 1, size - 1);
            } finally {
              await reader.close();
            }
            if (last.toString("utf8") !== "\n") prefix = "\n";
          }
          await handle.writeFile(prefix + line, "utf8");
          await handle.sync();
        } finally {
          await handle.close();
        }
        await syncDirectory(dir);
        dirty = true;
      });
    },
    drain(record) {
      current ??= drainOnce(record).finally(() => {
        current = undefined;
      });
      return current;
    },
    pending: () => dirty,
    async check() {
      await owner;
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    },
    async close() {
      const server = await owner.catch(() => undefined);
      if (server === undefined) return;
      // Closing a Unix socket server removes its file.
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
