/**
 * The demo as `npm start` wires it, in the test process on free ports: the demo FHIR server with
 * every fixture, ln-cds with SQLite, the safety-alert sink, the operator API and the pages (built
 * by the test with src/pages/build.ts), plus Debian's Chromium driven by playwright-core.
 * `restart` closes the service and its database and opens them again on the same file.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { defaultServices } from "../../cds-services/index.js";
import { allFixtureBundles } from "../../fixtures/index.js";
import { startAlerting, type Alerting } from "../../src/alerts/runtime.js";
import { alertStore } from "../../src/alerts/store.js";
import { createApp } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { startFhirServer, type RunningFhirServer } from "../../src/fhir-server/index.js";
import { alertsRouter } from "../../src/http/alerts-routes.js";
import { createAppServer } from "../../src/http/server.js";
import { createLogger } from "../../src/log.js";
import { demoPatients } from "../../src/pages/demo-patients.js";
import { pagesRouter } from "../../src/pages/router.js";
import { saveFeedback } from "../../src/store/feedback.js";
import { openStore, type Store } from "../../src/store/index.js";
import type { Bundle } from "fhir/r4.js";

export const OPERATOR_TOKEN = "operator-token-of-the-page-tests";

export interface PagesDemo {
  readonly fhir: RunningFhirServer;
  /** ln-cds base URL (changes on restart). */
  url: string;
  store: Store;
  readonly sqlitePath: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startPagesDemo(opts: {
  webRoot: string;
  bundles?: readonly Bundle[];
}): Promise<PagesDemo> {
  const bundles = opts.bundles ?? allFixtureBundles(new Date());
  const fhir = await startFhirServer({ port: 0, host: "127.0.0.1", bundles });
  const sqlitePath = join(mkdtempSync(join(tmpdir(), "ln-cds-pages-")), "ln-cds.sqlite");
  // A fixed port for the run, so the cards' links (PUBLIC_BASE_URL) and the origin survive restarts.
  const port = await freePort();
  const config = testConfig({
    PORT: String(port),
    SQLITE_PATH: sqlitePath,
    FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
    OPERATOR_TOKEN_SHA256: createHash("sha256").update(OPERATOR_TOKEN).digest("hex"),
    FHIR_TIMEOUT_MS: "15000",
    PREFETCH_BUDGET_MS: "15000",
  });
  const logger = createLogger("silent");
  const demo = {
    fhirServer: fhir.url,
    patients: demoPatients(bundles),
    userId: "Practitioner/demo",
  };

  let server: Server;
  let alerting: Alerting;
  const open = async (): Promise<{ store: Store; url: string }> => {
    const store = await openStore(config);
    alerting = startAlerting({ store, config, logger });
    const app = createApp({
      config,
      logger,
      store,
      saveFeedback: (records) => saveFeedback(store, records),
      services: defaultServices(config),
      alertSink: alerting.sink,
      clock: () => new Date(),
      operatorRoutes: alertsRouter({ store: alertStore(store), config, logger }),
      pages: pagesRouter({
        webRoot: opts.webRoot,
        connectOrigins: config.FHIR_SERVER_ALLOWLIST,
        demo,
      }),
    });
    server = createAppServer(app).listen(port, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", resolve));
    return { store, url: config.publicBaseUrl };
  };
  const stop = async (store: Store): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await alerting.stop();
    await store.close();
  };

  const first = await open();
  const handle: PagesDemo = {
    fhir,
    url: first.url,
    store: first.store,
    sqlitePath,
    async restart() {
      await stop(handle.store);
      const next = await open();
      handle.url = next.url;
      handle.store = next.store;
    },
    async close() {
      await stop(handle.store);
      await fhir.close();
    },
  };
  return handle;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => {
        resolve(port);
      });
    });
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
