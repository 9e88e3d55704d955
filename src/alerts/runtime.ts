/**
 * Wiring for the CLI: the sink, the delivery worker and (optionally) the monitor over one store.
 * `ln-cds serve`/`demo` start it with the monitor when MONITOR_INTERVAL is set; `ln-cds monitor`
 * starts it with the monitor always on. `stop()` stops claiming/polling and waits for in-flight
 * work (on SIGTERM; docs/cds-contract.md#alerts).
 *
 * Alerts the store could not take wait in the spool (ALERT_SPOOL_PATH, spool.ts); they are
 * recorded at start (a previous process may have left some) and retried every
 * SPOOL_RETRY_MS until the store takes them.
 */
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { ConfigError, type Config } from "../config.js";
import { startMonitor, type Monitor } from "./monitor.js";
import { createAlertSink, type AlertSinkWithStats } from "./sink.js";
import { openAlertSpool, type AlertSpool } from "./spool.js";
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
  /**
   * Default true. `ln-cds monitor` has none: its monitor records through the store and retries a
   * failed round itself, and a second process draining the service's spool file could take a
   * batch appended while it moves the file aside.
   */
  spool?: boolean;
}

/** How often alerts waiting in the spool are offered to the store again. */
export const SPOOL_RETRY_MS = 1000;

/** ALERT_SPOOL_PATH; unset: `alert-spool.jsonl` beside SQLITE_PATH; none for an in-memory SQLite. */
export function spoolPath(
  config: Pick<Config, "ALERT_SPOOL_PATH" | "SQLITE_PATH">,
): string | undefined {
  if (config.ALERT_SPOOL_PATH !== undefined) return config.ALERT_SPOOL_PATH;
  if (config.SQLITE_PATH === ":memory:") return undefined;
  return join(dirname(config.SQLITE_PATH), "alert-spool.jsonl");
}

function retryQueued(sink: AlertSinkWithStats, spool: AlertSpool): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> | undefined;
  const round = (): void => {
    if (stopped) return;
    current = (spool.pending() ? sink.flushQueued() : Promise.resolve(0))
      // A failure is logged by the sink (once per interval) and tried again next round.
      .catch(() => 0)
      .finally(() => {
        current = undefined;
        if (!stopped) timer = setTimeout(round, SPOOL_RETRY_MS);
      });
  };
  round();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}

export function startAlerting(options: AlertingOptions): Alerting {
  const { config, logger } = options;
  checkWebhooks(config);
  const store = alertStore(options.store);
  const path = options.spool === false ? undefined : spoolPath(config);
  const spool = path === undefined ? undefined : openAlertSpool(path, logger);
  if (spool === undefined && options.spool !== false) {
    logger.warn(
      { event: "alert-spool-off" },
      "no alert spool (in-memory SQLite, no ALERT_SPOOL_PATH): alerts raised while the database fails are lost",
    );
  } else if (spool !== undefined) {
    void spool.check().catch((err: unknown) => {
      logger.error(
        { event: "alert-spool-unwritable", spool: spool.path, err: (err as Error).message },
        "the alert spool cannot be used: alerts raised while the database fails would be lost",
      );
    });
  }
  const sink = createAlertSink({ store, config, logger, ...(spool ? { spool } : {}) });
  const retry = spool === undefined ? undefined : retryQueued(sink, spool);
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
      await Promise.all([worker.stop(), monitor?.stop(), retry?.stop()]);
      await spool?.close();
    },
  };
}
