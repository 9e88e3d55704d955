/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers too,
 * so a load balancer sends no traffic to an instance that could not store feedback or alerts.
 */
import { Router } from "express";
import type { Logger } from "../log.js";
import { sendOutcome } from "./send-outcome.js";

export interface Pingable {
  ping(): Promise<unknown>;
}

export function healthRoutes(store: Pingable, logger: Logger): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.set("Cache-Control", "no-store").status(200).json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    try {
      await store.ping();
      res.set("Cache-Control", "no-store").status(200).json({ status: "ready" });
    } catch (err) {
      logger.error({ err }, "readiness: the database did not answer");
      sendOutcome(res.set("Cache-Control", "no-store"), 503, {
        code: "transient",
        diagnostics: "the database is not available",
      });
    }
  });
  return router;
}
