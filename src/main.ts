#!/usr/bin/env node
/**
 * The ln-cds command line. It only wires parts together and listens:
 *
 *   ln-cds serve        production: CDS Hooks JWTs required (refuses to start without issuers
 *                       unless CDS_AUTH=off is set explicitly)
 *   ln-cds demo         the newcomer's `npm start`: 127.0.0.1, SQLite, CDS_AUTH=off (loudly), and
 *                       the embedded demo FHIR server with every fixture, allow-listed
 *   ln-cds fhir-server  the demo FHIR server alone
 *
 * A configuration error prints one readable line and exits 1. SIGTERM/SIGINT close the HTTP
 * server (in-flight requests finish), then the database.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Bundle } from "fhir/r4.js";
import { createApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { checkAuthAtStartup, createCdsAuthCore } from "./http/auth/index.js";
import { defaultServices, registryProblems } from "../cds-services/index.js";
import { startAlerting, type Alerting } from "./alerts/runtime.js";
import { alertStore } from "./alerts/store.js";
import { alertsRouter } from "./http/alerts-routes.js";

import { openStore, type Store } from "./store/index.js";
import { saveFeedback } from "./store/feedback.js";
import * as replay from "./store/jti.js";
import { createAppServer } from "./http/server.js";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { pagesRouter, PagesNotBuiltError, type DemoInfo } from "./pages/router.js";

/** The built pages, beside the compiled code: dist/web (src/pages/build.ts). */
const WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));

function pagesOf(config: Config, logger: Logger, demo?: DemoInfo) {
  try {
    return pagesRouter({
      webRoot: WEB_ROOT,
      connectOrigins: config.FHIR_SERVER_ALLOWLIST,
      ...(demo ? { demo } : {}),
    });
  } catch (err) {
    if (!(err instanceof PagesNotBuiltError)) throw err;
    logger.warn(
      { webRoot: WEB_ROOT },
      "pages not built (npm run build): /app/ and /inbox/ are off",
    );
    return undefined;
  }
}

// ------------------------------------------------------------------ commands

function listen(server: Server): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeIdleConnections();
  });
}

async function startService(
  config: Config,
  logger: Logger,
  demo?: DemoInfo,
): Promise<{ server: Server; store: Store; url: string; alerting: Alerting }> {
  const store = await openStore(config, { logger });
  // Safety-team alerts: delivery worker always; monitor when MONITOR_INTERVAL is set (docs/cds-contract.md#alerts).
  const alerting = startAlerting({ store, config, logger });
  const services = defaultServices(config);
  const problems = registryProblems(services);
  if (problems.length > 0) throw new Error(`service registry: ${problems.join("; ")}`);

  let cdsAuth;
  if (config.CDS_AUTH === "on") {
    cdsAuth = [
      createCdsAuthCore({
        config,
        logger,
        rememberJti: (iss, jti, expiresAt) => replay.rememberJti(store, iss, jti, expiresAt),
        purgeExpiredJti: (now: Date) => replay.purgeExpiredJti(store, now),
      }),
    ];
  }

  const pages = pagesOf(config, logger, demo);
  const app = createApp({
    config,
    logger,
    store,
    saveFeedback: (records) => saveFeedback(store, records),
    services,
    clock: () => new Date(),
    alertSink: alerting.sink,
    ...(cdsAuth ? { cdsAuth } : {}),
    operatorRoutes: alertsRouter({ store: alertStore(store), config, logger }),
    ...(pages ? { pages } : {}),
    // The demo, on loopback: browser pages of any origin may call (docs/cds-contract.md#real-clients).
    ...(demo !== undefined ? { corsAnyOrigin: true } : {}),
  });
  const server = createAppServer(app).listen(config.PORT, config.HOST);
  server.requestTimeout = config.REQUEST_TIMEOUT_MS + 5_000;
  const address = await listen(server);
  // After start an accept error (EMFILE under load) is emitted here; unheard, it would end the
  // process. The server keeps listening, so it is logged and left at that.
  server.on("error", (err) => {
    logger.error({ err }, "HTTP server error");
  });
  const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, services: services.length, auth: config.CDS_AUTH }, "ln-cds listening");
  return { server, store, url, alerting };
}

async function serve(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  checkAuthAtStartup(config, logger);
  const { server, store, alerting } = await startService(config, logger);
  onShutdown(logger, async () => {
    await closeServer(server);
    await alerting.stop();
    await store.close();
  });
}

/** A module of the demo, which a Docker image built without `--build-arg DEMO=true` leaves out. */
async function demoModule<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if ((err as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw err;
    throw new Error(
      "this build carries no demo (a Docker image leaves it out unless built with " +
        "--build-arg DEMO=true); `ln-cds serve` runs the service",
    );
  }
}

/**
 * The demo FHIR server with every fixture. The fixtures and the Medplum router are loaded here,
 * on demand, so that `serve` and `monitor` never load them (an image may leave them out).
 */
async function startDemoFhirServer(host: string, port: number) {
  const [{ startFhirServer }, { allFixtureBundles }] = await Promise.all([
    demoModule(() => import("./fhir-server/index.js")),
    demoModule(() => import("../fixtures/index.js")),
  ]);
  const bundles = allFixtureBundles(new Date());
  try {
    return { fhir: await startFhirServer({ port, host, bundles }), bundles };
  } catch (err) {
    if ((err as { code?: unknown }).code !== "EADDRINUSE") throw err;
    // The usual port is taken (another demo?): any free port will do, the URL is printed.
    return { fhir: await startFhirServer({ port: 0, host, bundles }), bundles };
  }
}

function patientIdsOf(bundles: readonly Bundle[]): string[] {
  const ids: string[] = [];
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === "Patient" && entry.resource.id)
        ids.push(entry.resource.id);
    }
  }
  return ids;
}

async function demo(): Promise<void> {
  const host = "127.0.0.1";
  const { fhir, bundles } = await startDemoFhirServer(host, loadConfig(process.env).DEMO_FHIR_PORT);
  const fhirOrigin = new URL(fhir.url).origin;
  // The inbox needs an operator token: without one configured, the demo makes one and prints it.
  const operatorToken =
    process.env.OPERATOR_TOKEN_SHA256 === undefined
      ? randomBytes(18).toString("base64url")
      : undefined;
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOST: host,
    CDS_AUTH: "off",
    NODE_ENV: process.env.NODE_ENV ?? "development",
    DATABASE_URL: undefined, // the demo is SQLite under ./data
    // The embedded in-memory FHIR server shares this process and scans every resource per
    // search, so the demo allows it more time than a production FHIR server gets.
    FHIR_TIMEOUT_MS: process.env.FHIR_TIMEOUT_MS ?? "15000",
    PREFETCH_BUDGET_MS: process.env.PREFETCH_BUDGET_MS ?? "15000",
    FHIR_SERVER_ALLOWLIST: [process.env.FHIR_SERVER_ALLOWLIST, fhirOrigin]
      .filter(Boolean)
      .join(","),
    ...(operatorToken !== undefined
      ? { OPERATOR_TOKEN_SHA256: createHash("sha256").update(operatorToken).digest("hex") }
      : {}),
  };
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL);
  checkAuthAtStartup(config, logger); // warns: CDS_AUTH=off
  const { demoPatients } = await demoModule(() => import("./pages/demo-patients.js"));
  const demoInfo: DemoInfo = {
    fhirServer: fhir.url,
    patients: demoPatients(bundles),
    userId: "Practitioner/demo",
  };
  const { server, store, url, alerting } = await startService(config, logger, demoInfo);

  const patients = patientIdsOf(bundles);
  const example = patients[0] ?? "<patient id>";
  const line = "=".repeat(78);
  const out = [
    `  Open the demo EHR page: ${url}/`,
    line,
    "  ln-cds DEMO — CDS_AUTH=off: CDS Hooks JWTs are NOT checked. Loopback only; no real patient data.",
    line,
    `  Demo EHR page      ${url}/`,
    `  Course app         ${url}/app/?iss=${encodeURIComponent(fhir.url)}&patient=${example}`,
    `  Safety-team inbox  ${url}/inbox/${operatorToken !== undefined ? `   (operator token for this run: ${operatorToken})` : ""}`,
    `  CDS service        ${url}`,
    `  Discovery          ${url}/cds-services`,
    `  Health             ${url}/healthz   ${url}/readyz`,
    `  Demo FHIR server   ${fhir.url}   (${bundles.length} fixture bundles, ${patients.length} patients)`,
    `  Patients           ${patients.slice(0, 20).join(", ")}${patients.length > 20 ? ", …" : ""}`,
    "",
    "  Try:",
    `    curl -s ${url}/cds-services`,
    `    curl -s ${url}/cds-services/<service id> -H 'Content-Type: application/json' \\`,
    `      -d '{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",` +
      `"fhirServer":"${fhir.url}","context":{"userId":"Practitioner/demo","patientId":"${example}"}}'`,
    line,
  ];
  process.stdout.write(out.join("\n") + "\n");
  onShutdown(logger, async () => {
    await closeServer(server);
    await alerting.stop();
    await store.close();
    await fhir.close();
  });
}

async function fhirServerOnly(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  const port = process.env.PORT ? config.PORT : config.DEMO_FHIR_PORT;
  const { fhir, bundles } = await startDemoFhirServer(config.HOST, port);
  logger.info({ url: fhir.url, bundles: bundles.length }, "demo FHIR server listening");
  process.stdout.write(
    `Demo FHIR server: ${fhir.url} (${patientIdsOf(bundles).length} patients)\n`,
  );
  onShutdown(logger, () => fhir.close());
}

/** `ln-cds monitor`: the safety monitor and the delivery worker, without the HTTP service. */
async function monitorOnly(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  const store = await openStore(config, { logger });
  const alerting = startAlerting({ store, config, logger, monitor: "on", spool: false });
  logger.info({ intervalSeconds: config.MONITOR_INTERVAL ?? 60 }, "ln-cds monitor running");
  onShutdown(logger, async () => {
    await alerting.stop();
    await store.close();
  });
}

const USAGE = "usage: ln-cds <serve | demo | fhir-server | monitor>";

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[2] ?? "serve";
  switch (command) {
    case "serve":
      return serve();
    case "demo":
      return demo();
    case "fhir-server":
      return fhirServerOnly();
    case "monitor":
      return monitorOnly();
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`ln-cds: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `ln-cds: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
