/**
 * Global test set-up: UTC, and a throw-away PostgreSQL cluster for the database tests when
 * TEST_DATABASE_URL is not given. Workers inherit TEST_DATABASE_URL from this process's
 * environment. Without PostgreSQL binaries the run fails: a skipped database test is not a pass.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

export default async function setup(): Promise<() => void> {
  process.env.TZ = "UTC";
  if (process.env.TEST_DATABASE_URL) return () => undefined;

  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), "ln-cds-pg-"));
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const full = join(bin, cmd);
    const [exe, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", full, ...args]]
      : [full, args];
    execFileSync(exe, argv, { stdio: "pipe" });
  };
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "log"),
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
    "start",
  ]);
  process.env.TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return () => {
    const full = join(bin, "pg_ctl");
    const args = ["-D", data, "-m", "immediate", "stop"];
    if (asRoot) spawnSync("runuser", ["-u", "postgres", "--", full, ...args]);
    else spawnSync(full, args);
    rmSync(dir, { recursive: true, force: true });
  };
}
