/**
 * Builds the three pages (demo EHR at /, course app at /app/, safety-team inbox at /inbox/) into
 * `dist/web` with esbuild: one ES module bundle per page, every dependency inside it (no CDN), and
 * the HTML and CSS copied beside them. The course app bundles `src/clinical` and the FHIR
 * normaliser themselves, so its verdicts are those of the services.
 *
 *   node dist/src/pages/build.js [outDir]     (run by `npm run build` and `npm start`)
 */
import { cpSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Metafile } from "esbuild";

/** Page → its entry module (under src/web) and bundle (under the output directory). */
export const PAGE_ENTRIES = {
  demo: { entry: "demo/main.ts", out: "demo.js" },
  app: { entry: "app/main.ts", out: "app/app.js" },
  inbox: { entry: "inbox/main.ts", out: "inbox/inbox.js" },
} as const;

export interface BuiltPages {
  readonly outDir: string;
  /** Bytes of each page's bundle, for the README and the report. */
  readonly bundleBytes: Readonly<Record<keyof typeof PAGE_ENTRIES, number>>;
}

function copyStatic(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) {
      copyStatic(src, join(to, name));
    } else if (/\.(html|css|svg)$/.test(name)) {
      mkdirSync(to, { recursive: true });
      cpSync(src, join(to, name));
    }
  }
}

/** Builds every page from `<root>/src/web` into `outDir` (default `<root>/dist/web`). */
export async function buildPages(
  options: { root?: string; outDir?: string } = {},
): Promise<BuiltPages> {
  const root = resolve(options.root ?? process.cwd());
  const source = join(root, "src", "web");
  const outDir = resolve(options.outDir ?? join(root, "dist", "web"));
  mkdirSync(outDir, { recursive: true });
  copyStatic(source, outDir);
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.values(PAGE_ENTRIES).map((p) => ({
      in: join(source, p.entry),
      out: p.out.replace(/\.js$/, ""),
    })),
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: "linked",
    legalComments: "external",
    metafile: true,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const bytes = (metafile: Metafile, out: string): number =>
    metafile.outputs[relative(root, join(outDir, out))]?.bytes ?? 0;
  return {
    outDir,
    bundleBytes: {
      demo: bytes(result.metafile, PAGE_ENTRIES.demo.out),
      app: bytes(result.metafile, PAGE_ENTRIES.app.out),
      inbox: bytes(result.metafile, PAGE_ENTRIES.inbox.out),
    },
  };
}

const invoked =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invoked) {
  const outDir = process.argv[2];
  buildPages(outDir !== undefined ? { outDir } : {}).then(
    (built) => {
      const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
      process.stdout.write(
        `pages built in ${relative(process.cwd(), built.outDir) || "."}: ` +
          `demo ${kb(built.bundleBytes.demo)}, app ${kb(built.bundleBytes.app)}, inbox ${kb(built.bundleBytes.inbox)}\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(
        `pages build failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
