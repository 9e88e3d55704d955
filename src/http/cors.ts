/**
 * CORS from CORS_ORIGINS (cds-contract.md "Real clients": a browser page on another origin).
 * Allowed origins get `Access-Control-Allow-Origin` on every response and a successful preflight
 * for GET and POST with Authorization, Content-Type and Accept. Other origins get no CORS header
 * at all, and their preflight is refused, so the browser blocks the call.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { forbidden, sendError } from "./errors.js";

export const CORS_METHODS = "GET, POST, OPTIONS";
export const CORS_HEADERS = "Authorization, Content-Type, Accept";

export function cors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    // Answers differ by Origin. setHeader when no other Vary was set (every request so far):
    // res.vary() parses and merges the header on each call.
    if (res.hasHeader("Vary")) res.vary("Origin");
    else res.setHeader("Vary", "Origin");
    const isPreflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (typeof origin !== "string" || !allowed.has(origin)) {
      if (isPreflight) {
        sendError(res, forbidden("this origin is not allowed by CORS"));
        return;
      }
      next();
      return;
    }
    res.set("Access-Control-Allow-Origin", origin);
    if (isPreflight) {
      res
        .set({
          "Access-Control-Allow-Methods": CORS_METHODS,
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
