/**
 * The Dockerfile cannot be built on this machine (no Docker engine), so this test does what its
 * build stage does with what that stage copies in: only those files, the package's own build
 * script, and then the file the image's CMD runs must exist. A build that reaches outside the
 * copied files (a test or bench file pulled into tsconfig.build.json) fails here, as it would in
 * `docker build`.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");

/** The instructions of one stage (`FROM … AS name`), continuation lines joined. */
function stage(name: string): string[] {
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n");
  const start = lines.findIndex((l) =>
    new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}\\s*$`, "i").test(l),
  );
  if (start < 0) throw new Error(`Dockerfile has no stage named ${name}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^FROM\s/i.test(l));
  return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim()).filter((l) => l !== "");
}

/** The build context's files copied by a stage (not `--from` copies), as [source, destination]. */
function contextCopies(lines: string[]): Array<[string, string]> {
  return lines
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l))
    .flatMap((l) => {
      const args = l.split(/\s+/).slice(1);
      const dest = args.pop() ?? "";
      return args.map((src): [string, string] => [
        src,
        dest.endsWith("/") ? join(dest, basename(src)) : dest,
      ]);
    });
}

const staged = mkdtempSync(join(tmpdir(), "ln-cds-docker-build-"));
afterAll(() => {
  rmSync(staged, { recursive: true, force: true });
});

describe("Dockerfile", () => {
  it("its build stage builds from the files it copies, and makes the file its CMD runs", () => {
    const build = stage("build");
    expect(build).toContain("WORKDIR /app");
    expect(build).toContain("RUN npm run build");
    const copies = contextCopies(build);
    expect(copies.map(([src]) => src)).toEqual(
      expect.arrayContaining(["package.json", "tsconfig.build.json", "src"]),
    );
    for (const [src, dest] of copies) {
      cpSync(join(root, src), join(staged, dest), { recursive: true });
    }
    // `npm ci` of the stage: the dependencies this checkout already has.
    symlinkSync(join(root, "node_modules"), join(staged, "node_modules"), "dir");

    const script = (
      JSON.parse(readFileSync(join(staged, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts.build;
    // The script is `tsc …` and then `node <built script> …` steps (the pages' esbuild step):
    // each runs as npm would run it, in the staged copy.
    const steps = (script ?? "").split("&&").map((s) => s.trim().split(/\s+/));
    expect(steps[0]?.[0], `build script "${script}" does not start with tsc`).toBe("tsc");
    for (const [cmd, ...args] of steps) {
      expect(["tsc", "node"], `build step ${String(cmd)} is neither tsc nor node`).toContain(cmd);
      const argv =
        cmd === "tsc" ? [join(root, "node_modules", "typescript", "bin", "tsc"), ...args] : args;
      const run = spawnSync(process.execPath, argv, { cwd: staged, encoding: "utf8" });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      if (cmd === "tsc") expect(run.stdout + run.stderr).toBe("");
    }
    // The pages the service serves were built from the staged sources.
    expect(existsSync(join(staged, "dist", "web", "app", "app.js"))).toBe(true);
    expect(existsSync(join(staged, "dist", "web", "inbox", "index.html"))).toBe(true);

    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(stage("runtime").join("\n"));
    const argv = JSON.parse(cmd?.[1] ?? "[]") as string[];
    expect(argv[0]).toBe("node");
    expect(existsSync(join(staged, argv[1] ?? "missing"))).toBe(true);
  }, 60_000);

  it("leaves the demo out unless asked: serve starts without it, demo says how to get it", async () => {
    const build = stage("build");
    const main = join(staged, "dist", "src", "main.js");
    expect(existsSync(main), "the build stage's test above did not build").toBe(true);
    // The stage's steps after the build, with each ARG at its default (no --build-arg).
    const args: Record<string, string> = {};
    for (const line of build.slice(build.indexOf("RUN npm run build") + 1)) {
      const arg = /^ARG\s+(\w+)=(\S*)$/.exec(line);
      if (arg) args[arg[1] ?? ""] = arg[2] ?? "";
      else if (line.startsWith("RUN ")) {
        const run = spawnSync("sh", ["-c", line.slice(4)], {
          cwd: staged,
          env: { ...process.env, ...args },
          encoding: "utf8",
        });
        expect(run.status, run.stderr).toBe(0);
      }
    }
    expect(args.DEMO).toBe("false");
    for (const gone of [
      "dist/fixtures",
      "dist/src/fhir-server",
      "dist/src/pages/demo-patients.js",
    ]) {
      expect(existsSync(join(staged, gone)), gone).toBe(false);
    }
    // The deps stage drops @medplum: nothing left in the image may import it.
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
      );
    const medplum = files(join(staged, "dist"))
      .filter((f) => f.endsWith(".js"))
      .filter((f) => /from\s+["']@medplum\//.test(readFileSync(f, "utf8")));
    expect(medplum).toEqual([]);
    expect(stage("deps").join("\n")).toMatch(/rm -rf node_modules\/@medplum/);

    const env = {
      ...process.env,
      NODE_ENV: "production",
      CDS_AUTH: "off",
      HOST: "127.0.0.1",
      PORT: "0",
      DEMO_FHIR_PORT: "0",
      SQLITE_PATH: join(staged, "data", "ln-cds.sqlite"),
    };
    const serve = spawn(process.execPath, [main, "serve"], { cwd: staged, env });
    let out = "";
    serve.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    serve.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => serve.once("exit", resolve));
    try {
      for (let i = 0; i < 150 && !out.includes("ln-cds listening"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(out).toContain("ln-cds listening");
    } finally {
      serve.kill("SIGTERM");
      await exited;
    }

    const demo = spawnSync(process.execPath, [main, "demo"], {
      cwd: staged,
      env,
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(demo.status).toBe(1);
    expect(demo.stderr).toContain("--build-arg DEMO=true");
  }, 60_000);
});
