import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

/**
 * Compiles the alert code (and the test store helper) to plain JS for child processes.
 * The output lives under node_modules/.cache so node resolves the project's packages from it.
 */
export function buildAlertCode(): string {
  const cacheRoot = join(process.cwd(), "node_modules", ".cache");
  mkdirSync(cacheRoot, { recursive: true });
  const out = mkdtempSync(join(cacheRoot, "ln-cds-alert-build-"));
  execFileSync(
    process.execPath,
    [
      join(process.cwd(), "node_modules", "typescript", "bin", "tsc"),
      "--outDir",
      out,
      "--rootDir",
      process.cwd(),
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--skipLibCheck",
      "--esModuleInterop",
      "--noCheck",
      join("src", "alerts", "sink.ts"),
      join("src", "alerts", "worker.ts"),
      join("src", "config.ts"),
      join("src", "log.ts"),
      join("test", "support", "alert-stores.ts"),
    ],
    { stdio: "pipe" },
  );
  return out;
}
