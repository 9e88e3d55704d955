/**
 * Builds the real app for HTTP tests: createApp with a test config, the test-only service, and
 * a log capture. `store`/`saveFeedback` default to the real store when the caller passes one;
 * otherwise a ping-only store that is always ready and a feedback sink that refuses to be used.
 */
import type { RequestHandler } from "express";
import { createApp, type AppDeps } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import type { CdsService } from "../../cds-services/types.js";
import { testService } from "./test-service.js";

export interface LogCapture {
  readonly lines: string[];
  text(): string;
}

export function captureLogs(): { logger: AppDeps["logger"]; logs: LogCapture } {
  const lines: string[] = [];
  const logger = createLogger("debug", {
    write(line: string) {
      lines.push(line);
    },
  });
  return { logger, logs: { lines, text: () => lines.join("") } };
}

export interface ProtocolAppOptions {
  readonly env?: Record<string, string>;
  readonly services?: readonly CdsService[];
  readonly store?: AppDeps["store"];
  readonly saveFeedback?: AppDeps["saveFeedback"];
  readonly cdsAuth?: RequestHandler;
  readonly clock?: () => Date;
  /** Where the runtime records the alerts services raise (none: not recorded). */
  readonly alertSink?: AppDeps["alertSink"];
  /** Build the app as the demo does: CORS for any origin. */
  readonly corsAnyOrigin?: boolean;
}

export function protocolApp(options: ProtocolAppOptions = {}) {
  const { logger, logs } = captureLogs();
  const config = testConfig(options.env ?? {});
  const app = createApp({
    config,
    logger,
    store: options.store ?? { ping: () => Promise.resolve() },
    saveFeedback:
      options.saveFeedback ??
      (() => Promise.reject(new Error("this test app has no feedback store"))),
    services: options.services ?? [testService()],
    clock: options.clock ?? (() => new Date("2026-01-15T10:00:00Z")),
    ...(options.cdsAuth ? { cdsAuth: options.cdsAuth } : {}),
    ...(options.alertSink ? { alertSink: options.alertSink } : {}),
    ...(options.corsAnyOrigin === true ? { corsAnyOrigin: true } : {}),
  });
  return { app, logs, config };
}
