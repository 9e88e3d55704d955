/**
 * The real service as a child process: `src/`, `cds-services/` and `fixtures/` transpiled once with
 * esbuild (file by file, like tsc would emit them; packages resolve from node_modules), then
 * `src/main.js serve` started with its own environment. Tests use it where only a separate process can show the fault: a crash takes the
 * process down, a lost database connection must not.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";

function sources(dir: string): string[] {
  return readdirSync(join(process.cwd(), dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(process.cwd(), dir, f));
}

/** Transpiles the service into node_modules/.cache (so node finds the packages); returns main. */
export function buildService(): { file: string; remove(): void } {
  const cacheRoot = join(process.cwd(), "node_modules", ".cache");
  mkdirSync(cacheRoot, { recursive: true });
  const dir = mkdtempSync(join(cacheRoot, "ln-cds-service-"));
  buildSync({
    entryPoints: [...sources("src"), ...sources("cds-services"), ...sources("fixtures")],
    outdir: dir,
    outbase: process.cwd(),
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
  });
  const file = join(dir, "src", "main.js");
  return {
    file,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Every line written to stdout and stderr so far. */
  readonly output: string[];
  /** Exit code (or signal name) once the process has exited. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `node <file> serve` on a free port; resolves once it logs that it listens (LOG_LEVEL info
 * or lower). Unless `env` names an ALERT_SPOOL_PATH, the process gets one of its own in a fresh
 * directory (removed at `stop`), so that no two test processes share a spool through ./data.
 */
export function startService(
  file: string,
  env: Record<string, string | undefined>,
): Promise<ServiceProcess> {
  const spoolDir =
    env.ALERT_SPOOL_PATH === undefined ? mkdtempSync(join(tmpdir(), "ln-cds-spool-")) : undefined;
  const spool = spoolDir !== undefined ? { ALERT_SPOOL_PATH: join(spoolDir, "spool.jsonl") } : {};
  const child = spawn(process.execPath, [file, "serve"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", NODE_ENV: "production", ...spool, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let exit: string | undefined;
  let buffered = "";
  const collect = (chunk: Buffer): void => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    output.push(...lines);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = code !== null ? String(code) : String(signal);
      resolve();
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`service did not start in time:\n${output.join("\n")}`));
    }, 30_000);
    const poll = setInterval(() => {
      const line = output.find((l) => l.includes('"ln-cds listening"'));
      if (line !== undefined) {
        clearInterval(poll);
        clearTimeout(timer);
        const url = (JSON.parse(line) as { url: string }).url;
        resolve({
          child,
          url,
          output,
          exited: () => exit,
          stop: async () => {
            if (exit === undefined) child.kill("SIGTERM");
            await exitedPromise;
            if (spoolDir !== undefined) rmSync(spoolDir, { recursive: true, force: true });
          },
        });
      } else if (exit !== undefined) {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`service exited (${exit}) before listening:\n${output.join("\n")}`));
      }
    }, 20);
  });
}
