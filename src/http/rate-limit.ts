/**
 * Request limit per client address (docs/cds-contract.md#requests-and-errors):
 * RATE_LIMIT_PER_MINUTE requests per client address per minute, then 429 with an
 * OperationOutcome and `Retry-After`.
 *
 * It runs before authentication, with CDS_AUTH on or off: a flood of bad tokens is limited like
 * any other, and a JWT check (a signature verification, a replay-store write) is never spent on
 * a client that is over its limit. `/healthz` and `/readyz` are not limited (load balancers poll
 * them). The address is the socket's, or with TRUST_PROXY_HOPS the one the trusted proxies put
 * in X-Forwarded-For (behind a load balancer every client would otherwise share its address);
 * IPv6 grouped by /56 as express-rate-limit does by default. Counted in this process: with N
 * replicas a client gets up to N × the limit, acceptable for a protective limit that needs no
 * shared state. Each 429 is counted in the log, one line per second at most (refusal-log.ts).
 */
import type { Request, RequestHandler } from "express";
import { rateLimit, type RateLimitInfo } from "express-rate-limit";
import type { Logger } from "../log.js";
import { sendError, tooManyRequests } from "./errors.js";
import { createRefusalLog } from "./refusal-log.js";

export interface RateLimitOptions {
  /** Requests per client address per minute; 0 disables the limit. */
  readonly perMinute: number;
  readonly logger: Logger;
}

const WINDOW_MS = 60_000;

/** A code and message only: the library's errors carry no request data, and no stack is needed. */
function libraryNote(error: unknown): { event: string; code?: unknown; message?: unknown } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return { event: "rate-limit-library", code: e?.code, message: e?.message };
}

export function createAddressRateLimit(options: RateLimitOptions): RequestHandler {
  const { perMinute } = options;
  if (perMinute <= 0) {
    return (_req, _res, next) => {
      next();
    };
  }
  const refusals = createRefusalLog(options.logger, "rate-limited", "request limit reached");
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    // RateLimit-Policy and RateLimit headers, and Retry-After on a 429.
    standardHeaders: "draft-8",
    // The policy's name in those headers: the library's own default name for this limit and
    // window ("600-in-1min"), given once instead of being worked out again for every request.
    identifier: `${String(perMinute)}-in-${String(WINDOW_MS / 60_000)}min`,
    legacyHeaders: false,
    // The library's own warnings (e.g. X-Forwarded-For arriving while TRUST_PROXY_HOPS is 0:
    // a proxy the operator did not declare) go to our log, as one structured line each.
    logger: {
      warn: (error: unknown) => {
        options.logger.warn(libraryNote(error), "request limit: configuration warning");
      },
      error: (error: unknown) => {
        options.logger.error(libraryNote(error), "request limit: error");
      },
    },
    // CORS preflight is answered before (cors.ts); never counted.
    skip: (req) => req.method === "OPTIONS",
    handler: (req, res) => {
      refusals.note("over-limit");
      const reset = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime;
      const retryAfter = Math.max(
        1,
        Math.ceil(((reset?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000),
      );
      sendError(
        res,
        tooManyRequests(
          `more than ${String(perMinute)} requests in one minute from this client address; retry after ${String(retryAfter)} s`,
          retryAfter,
        ),
      );
    },
  });
}
