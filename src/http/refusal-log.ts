/**
 * Refusals (401, 429) in the log at most once per second per reason, with a count.
 *
 * A client that floods the service with bad tokens must not flood the log too: one line per
 * refusal gave tens of thousands of warn lines in seconds, burying everything else and costing
 * more than the refusal itself. The first refusal of a reason is logged at once (count 1); the
 * ones that follow within the second are counted, and one line with their count is written when
 * the second is over. No patient data or token is ever in the fields (reason codes and issuers).
 */
import type { Logger } from "../log.js";

export const REFUSAL_LOG_WINDOW_MS = 1000;

export interface RefusalLog {
  /** Counts one refusal; `iss` only when it is an allow-listed issuer (safe to log). */
  note(reason: string, iss?: string): void;
}

interface Window {
  readonly reason: string;
  readonly iss: string | undefined;
  /** Refusals counted since the last line. */
  pending: number;
  timer: NodeJS.Timeout | undefined;
}

export function createRefusalLog(
  logger: Logger,
  event: string,
  message: string,
  windowMs = REFUSAL_LOG_WINDOW_MS,
): RefusalLog {
  const windows = new Map<string, Window>();
  const write = (w: Window, count: number): void => {
    logger.warn(
      { event, reason: w.reason, ...(w.iss !== undefined ? { iss: w.iss } : {}), count },
      message,
    );
  };
  const close = (key: string, w: Window): void => {
    if (w.pending === 0) {
      // A quiet second: the next refusal of this reason is logged at once again.
      windows.delete(key);
      return;
    }
    write(w, w.pending);
    w.pending = 0;
    w.timer = setTimeout(() => {
      close(key, w);
    }, windowMs);
    w.timer.unref();
  };
  return {
    note(reason, iss) {
      const key = `${reason}\u0000${iss ?? ""}`;
      const open = windows.get(key);
      if (open !== undefined) {
        open.pending += 1;
        return;
      }
      const w: Window = { reason, iss, pending: 0, timer: undefined };
      windows.set(key, w);
      write(w, 1);
      w.timer = setTimeout(() => {
        close(key, w);
      }, windowMs);
      w.timer.unref();
    },
  };
}
