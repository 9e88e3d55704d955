// A real alert-service process for the crash test: opens the store, optionally raises N alerts,
// runs the delivery worker until killed (or SIGTERM). Imports the alert code compiled by
// test/support/build-alerts.ts (tsx is not installed; compiling once is the reliable route).
// Env: ALERT_BUILD (compiled dir), STORE_KIND, STORE_LOCATION, RAISE (count), plus the usual settings.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const build = process.env.ALERT_BUILD;
const load = (p) => import(pathToFileURL(join(build, p)).href);
const { openAlertStore } = await load("test/support/alert-stores.js");
const { createAlertSink } = await load("src/alerts/sink.js");
const { startDeliveryWorker } = await load("src/alerts/worker.js");
const { loadConfig } = await load("src/config.js");
const { createLogger } = await load("src/log.js");

const config = loadConfig(process.env);
const logger = createLogger("silent");
const store = await openAlertStore(process.env.STORE_KIND, process.env.STORE_LOCATION);
const raise = Number(process.env.RAISE ?? "0");
if (raise > 0) {
  const sink = createAlertSink({ store, config, logger });
  const alerts = Array.from({ length: raise }, (_, i) => ({
    rule: "anemia",
    severity: "critical",
    grade: 4,
    patient: `Patient/crash-${i}`,
    observation: `Observation/crash-hb-${i}`,
    value: { value: 60, unit: "g/L" },
    effective: "2024-01-01T00:00:00Z",
  }));
  await sink.raise(alerts, "patient-view");
  process.stdout.write(`raised ${sink.raisedCount()}\n`);
}
const worker = startDeliveryWorker({ store, config, logger });
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void worker
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
});
