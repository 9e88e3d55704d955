/**
 * One structured log line per request: method, route, status, duration, and for hook calls the
 * service id, hook and hookInstance; for a CORS preflight, its origin. No other header, never a
 * body, a token or patient data: the path is logged only as the route pattern, because a path can
 * hold ids.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "../log.js";

interface HookLogFields {
  serviceId?: string;
  hook?: string;
  hookInstance?: string;
  cards?: number;
  /** A CORS preflight, with the page's origin (an origin names a site, never a patient). */
  preflight?: boolean;
  origin?: string;
}

const fields = new WeakMap<Request, HookLogFields>();

/** Adds hook fields to the request's log line (called by the invoke and feedback routes). */
export function annotateRequestLog(req: Request, add: HookLogFields): void {
  fields.set(req, { ...fields.get(req), ...add });
}

export function accessLog(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once("finish", () => {
      const status = res.statusCode;
      // Below info (LOG_LEVEL=warn) a successful request writes nothing: build no line for it.
      if (status < 500 && !logger.isLevelEnabled("info")) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const line = {
        method: req.method,
        route: typeof route === "string" ? route : undefined,
        status,
        durationMs: Math.round(durationMs * 10) / 10,
        ...fields.get(req),
      };
      // A 503 of /readyz is the probe's answer while the database is away, not a fault of the
      // request: its cause is logged by the probe, once per interval (src/http/health.ts), so a
      // load balancer probing every second does not add an error line per probe.
      if (status >= 500 && !(status === 503 && route === "/readyz")) logger.error(line, "request");
      else logger.info(line, "request");
    });
    next();
  };
}
