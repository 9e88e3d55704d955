/**
 * Per-issuer request limit (issue 5 §6): RATE_LIMIT_PER_MINUTE requests per JWT issuer per
 * minute, then 429 with an OperationOutcome and `Retry-After`.
 *
 * Why per issuer: one misbehaving EHR (a loop firing patient-view) must not starve the others.
 * The key is the issuer verified by the JWT middleware (so it cannot be chosen by the caller);
 * without authentication (CDS_AUTH=off, loopback demos) it falls back to the client address.
 * Fixed one-minute windows, counted in this process: with N replicas an issuer gets up to N × the
 * limit, which is acceptable for a protective limit and needs no shared state.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { verifiedClientOf } from "./auth/verified-client.js";
import { sendError, tooManyRequests } from "./errors.js";

export interface RateLimitOptions {
  /** Requests per issuer per minute; 0 disables the limit. */
  readonly perMinute: number;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

const WINDOW_MS = 60_000;

export function rateLimitKeyOf(req: Request): string {
  const client = verifiedClientOf(req);
  return client ? `iss:${client.iss}` : `addr:${req.ip ?? req.socket.remoteAddress ?? "unknown"}`;
}

export function createIssuerRateLimit(options: RateLimitOptions): RequestHandler {
  const now = options.now ?? Date.now;
  const counts = new Map<string, number>();
  let window = -1;

  return (req: Request, res: Response, next: NextFunction): void => {
    if (options.perMinute <= 0 || req.method === "OPTIONS") {
      next();
      return;
    }
    const t = now();
    const current = Math.floor(t / WINDOW_MS);
    if (current !== window) {
      // A new window forgets every key, so the map never grows beyond one minute of callers.
      counts.clear();
      window = current;
    }
    const key = rateLimitKeyOf(req);
    const used = (counts.get(key) ?? 0) + 1;
    counts.set(key, used);
    if (used <= options.perMinute) {
      next();
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(((current + 1) * WINDOW_MS - t) / 1000));
    sendError(
      res,
      tooManyRequests(
        `more than ${options.perMinute} requests in one minute from this client; retry after ${retryAfter} s`,
        retryAfter,
      ),
    );
  };
}
