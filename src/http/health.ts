/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers too,
 * so a load balancer sends no traffic to an instance that could not store feedback or alerts.
 * The database gets READY_TIMEOUT_MS to answer: a probe never hangs on a database that is away.
 */
import { Router } from "express";
import { createFailureLog } from "../failure-log.js";
import type { Logger } from "../log.js";
import { sendError, serviceUnavailable } from "./errors.js";

export interface Pingable {
  ping(): Promise<unknown>;
}

export const READY_TIMEOUT_MS = 2000;

class PingTimeout extends Error {
  override name = "PingTimeout";
  constructor() {
    super(`the database did not answer within ${READY_TIMEOUT_MS} ms`);
  }
}

/** The ping, or a PingTimeout after READY_TIMEOUT_MS; the timer is cleared either way. */
function pingWithin(store: Pingable): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined = undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new PingTimeout());
    }, READY_TIMEOUT_MS);
  });
  // `ping` is called inside the chain, so a synchronous throw is a rejection like any other.
  const ping = Promise.resolve().then(() => store.ping());
  return Promise.race([ping, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function healthRoutes(store: Pingable, logger: Logger): Router {
  const router = Router();
  // A load balancer probes every few seconds: the first failure, then one line per interval.
  const failures = createFailureLog(logger, {
    event: "readiness-failed",
    failure: "readiness: the database did not answer",
    recovery: "readiness: the database answers again",
  });
  router.get("/healthz", (_req, res) => {
    res.set("Cache-Control", "no-store").status(200).json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    try {
      await pingWithin(store);
      failures.succeeded();
      res.set("Cache-Control", "no-store").status(200).json({ status: "ready" });
    } catch (err) {
      failures.failed(err);
      sendError(
        res.set("Cache-Control", "no-store"),
        serviceUnavailable("the database is not available"),
      );
    }
  });
  return router;
}
