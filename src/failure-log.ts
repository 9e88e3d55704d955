/**
 * A failure that repeats on every poll (the database away, seen by the delivery worker, the
 * readiness probe, the alert spool's retries) in the log as: the first failure at once, then at
 * most one line per interval with the number of failures since the last line, then one line when
 * it works again with how many failures there were and for how long.
 *
 * One line per poll or probe gave thousands of identical error lines during an outage of a few
 * minutes, burying the one line that said when it started. The fields are an event code, counts,
 * durations and the error's message (no patient data, no token).
 */
import type { Logger } from "./log.js";

export const FAILURE_LOG_INTERVAL_MS = 30_000;

export interface FailureLog {
  /** One more failure: logged when it is the first, or the interval since the last line is over. */
  failed(err: unknown): void;
  /** It works (again): one line if it was failing. */
  succeeded(): void;
}

export interface FailureLogOptions {
  /** `event` field of every line, e.g. "readiness-failed"; the recovery line has `<event>-recovered`. */
  readonly event: string;
  /** Message of the failure lines. */
  readonly failure: string;
  /** Message of the recovery line. */
  readonly recovery: string;
  readonly intervalMs?: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

export function createFailureLog(logger: Logger, options: FailureLogOptions): FailureLog {
  const intervalMs = options.intervalMs ?? FAILURE_LOG_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let failing = false;
  let since = 0;
  let total = 0;
  let unlogged = 0;
  let lastLine = 0;
  return {
    failed(err) {
      const t = now();
      if (!failing) {
        failing = true;
        since = t;
        total = 1;
        unlogged = 0;
        lastLine = t;
        logger.error({ event: options.event, err: messageOf(err), count: 1 }, options.failure);
        return;
      }
      total += 1;
      unlogged += 1;
      if (t - lastLine >= intervalMs) {
        logger.error(
          {
            event: options.event,
            err: messageOf(err),
            count: unlogged,
            failures: total,
            failingForMs: t - since,
          },
          options.failure,
        );
        unlogged = 0;
        lastLine = t;
      }
    },
    succeeded() {
      if (!failing) return;
      failing = false;
      logger.info(
        { event: `${options.event}-recovered`, failures: total, failedForMs: now() - since },
        options.recovery,
      );
    },
  };
}
