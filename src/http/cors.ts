/**
 * CORS (docs/cds-contract.md#real-clients: a browser page on another origin). `serve` allows the
 * origins of CORS_ORIGINS; the demo, on loopback with synthetic data, allows any origin ("any").
 * Allowed origins get `Access-Control-Allow-Origin` on every response and a successful preflight
 * for GET and POST with Authorization, Content-Type and Accept. Other origins get no CORS header
 * at all, and their preflight is refused, so the browser blocks the call. Preflights are marked
 * in the access log with their origin, so an operator can see which page was let in or refused.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { annotateRequestLog } from "./access-log.js";
import { forbidden, sendError } from "./errors.js";

export const CORS_METHODS = "GET, POST, OPTIONS";
export const CORS_HEADERS = "Authorization, Content-Type, Accept";

export interface CorsOptions {
  /** The methods a preflight allows; the demo FHIR server adds PUT (fixtures are written). */
  readonly methods?: string;
}

export function cors(
  allowedOrigins: readonly string[] | "any",
  options: CorsOptions = {},
): RequestHandler {
  const methods = options.methods ?? CORS_METHODS;
  const anyOrigin = allowedOrigins === "any";
  const allowed = new Set(anyOrigin ? [] : allowedOrigins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    // Answers differ by Origin. setHeader when no other Vary was set (every request so far):
    // res.vary() parses and merges the header on each call.
    if (res.hasHeader("Vary")) res.vary("Origin");
    else res.setHeader("Vary", "Origin");
    const isPreflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (isPreflight) {
      annotateRequestLog(req, {
        preflight: true,
        ...(typeof origin === "string" ? { origin: origin.slice(0, 200) } : {}),
      });
    }
    if (typeof origin !== "string" || (!anyOrigin && !allowed.has(origin))) {
      if (isPreflight) {
        sendError(res, forbidden("this origin is not allowed by CORS"));
        return;
      }
      next();
      return;
    }
    res.set("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
    if (isPreflight) {
      res
        .set({
          "Access-Control-Allow-Methods": methods,
          "Access-Control-Allow-Headers": CORS_HEADERS,
          "Access-Control-Max-Age": "600",
        })
        .status(204)
        .end();
      return;
    }
    next();
  };
}
