/**
 * `npm start` for tests: the real CLI entry (`src/main.ts demo`) in its own Node process, with no
 * configuration but free ports (PORT=0, DEMO_FHIR_PORT=0) and a throw-away working directory (the
 * demo keeps SQLite under ./data). The sources are transpiled file by file with esbuild (types
 * stripped, nothing bundled), as `tsc -p tsconfig.build.json` would emit them, into
 * node_modules/.cache so that the process resolves the project's own packages.
 *
 * The demo prints its URLs; everything it writes (the pino access log included) is kept.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SOURCE_DIRS = ["src", "cds-services", "fixtures"];

export interface DemoProcess {
  /** The CDS service, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The embedded demo FHIR server's base, e.g. http://127.0.0.1:41235/fhir */
  readonly fhirUrl: string;
  /** Every line the process wrote to stdout so far. */
  lines(): string[];
  /** The JSON log lines, parsed. */
  logRecords(): Record<string, unknown>[];
  stop(): Promise<void>;
}

function sourceFiles(): string[] {
  return SOURCE_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
      .map((f) => join(ROOT, dir, f)),
  );
}

async function transpile(): Promise<string> {
  const cache = join(ROOT, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, "ln-cds-demo-"));
  await build({
    entryPoints: sourceFiles(),
    outdir: out,
    outbase: ROOT,
    format: "esm",
    platform: "node",
    target: "node20",
    bundle: false,
    sourcemap: false,
    logLevel: "silent",
  });
  return out;
}

const CDS_LINE = /^\s*CDS service\s+(http:\/\/\S+)/m;
const FHIR_LINE = /^\s*Demo FHIR server\s+(http:\/\/\S+)/m;

export async function startDemoProcess(timeoutMs = 60_000): Promise<DemoProcess> {
  const out = await transpile();
  const work = mkdtempSync(join(tmpdir(), "ln-cds-demo-"));
  const child: ChildProcess = spawn(process.execPath, [join(out, "src", "main.js"), "demo"], {
    cwd: work,
    env: { PATH: process.env.PATH ?? "", PORT: "0", DEMO_FHIR_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let partial = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    stdout.push(...parts);
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

  const cleanUp = () => {
    rmSync(work, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    cleanUp();
  };

  const urls = await new Promise<{ url: string; fhirUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the demo did not print its URLs within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    const check = (): void => {
      const text = stdout.join("\n");
      const cds = CDS_LINE.exec(text)?.[1];
      const fhir = FHIR_LINE.exec(text)?.[1];
      if (cds !== undefined && fhir !== undefined) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        resolve({ url: cds, fhirUrl: fhir });
      }
    };
    child.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${String(code)}) before it was ready\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  return {
    ...urls,
    lines: () => [...stdout],
    logRecords: () =>
      stdout.flatMap((line) => {
        if (!line.startsWith("{")) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    stop,
  };
}
