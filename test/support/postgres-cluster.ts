/**
 * A throw-away PostgreSQL cluster: the shared one of the global set-up (global-setup.ts), and one
 * of a test's own, so that the test can stop, start and restart it under a running service
 * without disturbing the shared one.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Stops the server (fast shutdown: sessions are terminated, as in a database restart). */
  stop(): void;
  start(): void;
  /** Stops the server and removes its files. */
  remove(): void;
}

function pgBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort().reverse() : [];
  for (const v of versions) {
    const dir = join(root, v, "bin");
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  throw new Error(
    "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install Debian's postgresql (see .ci/run) or set TEST_DATABASE_URL",
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        resolve(typeof addr === "object" && addr !== null ? addr.port : 0);
      });
    });
  });
}

export interface PostgresClusterOptions {
  /** The server's max_connections (PostgreSQL's default when unset). */
  readonly maxConnections?: number;
  /** How `stop` shuts down: "fast" (sessions terminated) or "immediate" (no shutdown work). */
  readonly stopMode?: "fast" | "immediate";
}

export async function startPostgresCluster(
  options: PostgresClusterOptions = {},
): Promise<PostgresCluster> {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), "ln-cds-own-pg-"));
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const command = (cmd: string, args: string[]): [string, string[]] => {
    const full = join(bin, cmd);
    return asRoot ? ["runuser", ["-u", "postgres", "--", full, ...args]] : [full, args];
  };
  const run = (cmd: string, args: string[]): void => {
    const [exe, argv] = command(cmd, args);
    execFileSync(exe, argv, { stdio: "pipe" });
  };
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const maxConnections =
    options.maxConnections !== undefined ? ` -c max_connections=${options.maxConnections}` : "";
  const start = (): void => {
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off${maxConnections}`,
      "start",
    ]);
  };
  const stop = (): void => {
    const [exe, argv] = command("pg_ctl", [
      "-D",
      data,
      "-m",
      options.stopMode ?? "fast",
      "-w",
      "stop",
    ]);
    spawnSync(exe, argv, { stdio: "pipe" });
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove: () => {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
