/**
 * Wiring for the CLI: the sink, the delivery worker and (optionally) the monitor over one store.
 * `ln-cds serve`/`demo` start it with the monitor when MONITOR_INTERVAL is set; `ln-cds monitor`
 * starts it with the monitor always on. `stop()` stops claiming/polling and waits for in-flight
 * work (on SIGTERM; docs/cds-contract.md#alerts).
 */
import type { Logger } from "pino";
import { ConfigError, type Config } from "../config.js";
import { startMonitor, type Monitor } from "./monitor.js";
import { createAlertSink, type AlertSinkWithStats } from "./sink.js";
import { alertStore } from "./store.js";
import { checkWebhooks } from "./webhooks.js";
import { startDeliveryWorker, type DeliveryWorker } from "./worker.js";

export interface Alerting {
  sink: AlertSinkWithStats;
  worker: DeliveryWorker;
  monitor: Monitor | undefined;
  stop(): Promise<void>;
}

export interface AlertingOptions {
  store: { db: unknown; dialect: "sqlite" | "postgres" };
  config: Config;
  logger: Logger;
  /** "auto": only when MONITOR_INTERVAL is set; "on": always (`ln-cds monitor`); "off": never. */
  monitor?: "auto" | "on" | "off";
}

export function startAlerting(options: AlertingOptions): Alerting {
  const { config, logger } = options;
  checkWebhooks(config);
  const store = alertStore(options.store);
  const sink = createAlertSink({ store, config, logger });
  const worker = startDeliveryWorker({ store, config, logger });
  const mode = options.monitor ?? "auto";
  const wantMonitor = mode === "on" || (mode === "auto" && config.MONITOR_INTERVAL !== undefined);
  if (wantMonitor && config.MONITOR_FHIR_SERVER === undefined) {
    throw new ConfigError("MONITOR_FHIR_SERVER", "required when the monitor runs");
  }
  const monitor = wantMonitor ? startMonitor({ store, config, logger, sink }) : undefined;
  return {
    sink,
    worker,
    monitor,
    async stop() {
      await Promise.all([worker.stop(), monitor?.stop()]);
    },
  };
}
