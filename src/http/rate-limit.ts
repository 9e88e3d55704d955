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
import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from "express-rate-limit";
import type { Logger } from "../log.js";
import { sendError, tooManyRequests } from "./errors.js";
import { createRefusalLog } from "./refusal-log.js";

export interface RateLimitOptions {
  /** Requests per client address per minute; 0 disables the limit. */
  readonly perMinute: number;
  /** TRUST_PROXY_HOPS: 0 when clients reach this server directly. */
  readonly trustProxyHops: number;
  readonly logger: Logger;
}

const WINDOW_MS = 60_000;

/** A code and message only: the library's errors carry no request data, and no stack is needed. */
function libraryNote(error: unknown): { event: string; code?: unknown; message?: unknown } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return { event: "rate-limit-library", code: e?.code, message: e?.message };
}

/**
 * The RateLimit and RateLimit-Policy headers of IETF draft 8, written as express-rate-limit's
 * `standardHeaders: "draft-8"` writes them (name, remaining, seconds to reset; quota, window,
 * partition key: the first 12 hex digits of the client key's SHA-256, in base64). The library
 * hashes the client key again for every request, and its header step costs about as much as all
 * the counting (26 → 14 µs per request measured in-process); here each client key's partition key
 * is computed once and kept (a bounded table: a flood of new addresses only empties it).
 */
function draft8Headers(perMinute: number): (req: Request, res: Response) => void {
  const name = `"${String(perMinute)}-in-${String(WINDOW_MS / 60_000)}min"`;
  const windowSeconds = Math.ceil(WINDOW_MS / 1000);
  const partitionKeys = new Map<string, string>();
  const partitionKeyOf = (key: string): string => {
    let known = partitionKeys.get(key);
    if (known === undefined) {
      const hex = createHash("sha256").update(key).digest("hex").slice(0, 12);
      known = Buffer.from(hex).toString("base64");
      if (partitionKeys.size >= MAX_PARTITION_KEYS) partitionKeys.clear();
      partitionKeys.set(key, known);
    }
    return known;
  };
  return (req, res) => {
    // Absent when the request was not counted (skipped).
    const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
    if (info === undefined || res.headersSent) return;
    const reset =
      info.resetTime === undefined
        ? windowSeconds
        : Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000));
    res.setHeader("RateLimit", `${name}; r=${String(info.remaining)}; t=${String(reset)}`);
    res.setHeader(
      "RateLimit-Policy",
      `${name}; q=${String(info.limit)}; w=${String(windowSeconds)}; pk=:${partitionKeyOf(info.key)}:`,
    );
  };
}

/** IPv6 clients are counted by their /56 network, as the library's default counts them. */
const IPV6_SUBNET = 56;

/**
 * The key a client is counted under, the same as the library's default key: an IPv4 address as
 * it is; an IPv6 address by its /56 network (one subscriber's whole allocation), an IPv4-mapped
 * one ("::ffff:192.0.2.1") as its IPv4 address. The default decides IPv4 from IPv6 with node's
 * `isIPv6`, a long regular expression run twice per request, which showed in server profiles for
 * IPv4 clients (about 12 µs per request); an IPv4 address holds no colon and every IPv6 address
 * does, so the colon decides, and the library's `ipKeyGenerator` reads the IPv6 ones. A request
 * whose socket is already gone has no address: "" (all such requests share one count).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return "";
  return address.includes(":") ? ipKeyGenerator(address, IPV6_SUBNET) : address;
}

/** Client keys whose partition key is kept (one per client address in use). */
const MAX_PARTITION_KEYS = 4096;

export function createAddressRateLimit(options: RateLimitOptions): RequestHandler {
  const { perMinute } = options;
  if (perMinute <= 0) {
    return (_req, _res, next) => {
      next();
    };
  }
  const refusals = createRefusalLog(options.logger, "rate-limited", "request limit reached");
  const limitHeaders = draft8Headers(perMinute);
  // Said once per process (the library's default key generator said it too, once).
  let proxyNoted = false;
  const limiter = rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    // RateLimit-Policy and RateLimit headers: written by draft8Headers, on every counted answer
    // (the 429 included); Retry-After by the handler below.
    standardHeaders: false,
    legacyHeaders: false,
    // The library's own warnings (its checks of the settings) go to our log, as one structured
    // line each.
    logger: {
      warn: (error: unknown) => {
        options.logger.warn(libraryNote(error), "request limit: configuration warning");
      },
      error: (error: unknown) => {
        options.logger.error(libraryNote(error), "request limit: error");
      },
    },
    keyGenerator: (req) => {
      if (!proxyNoted && options.trustProxyHops === 0 && req.headers["x-forwarded-for"]) {
        // A proxy the operator did not declare: every client behind it counts as one.
        proxyNoted = true;
        options.logger.warn(
          { event: "undeclared-proxy" },
          "request limit: a request came with X-Forwarded-For while TRUST_PROXY_HOPS is 0, so " +
            "every client behind that proxy shares one count; set TRUST_PROXY_HOPS if a proxy is " +
            "in front of ln-cds",
        );
      }
      return clientKey(req.ip);
    },
    // The library warns of a key generator that reads the address without its ipKeyGenerator;
    // clientKey hands every IPv6 address to it.
    validate: { keyGeneratorIpFallback: false },
    // CORS preflight is answered before (cors.ts); never counted.
    skip: (req) => req.method === "OPTIONS",
    handler: (req, res) => {
      refusals.note("over-limit");
      limitHeaders(req, res);
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
  return (req, res, next) => {
    void limiter(req, res, (error?: unknown) => {
      if (error === undefined) limitHeaders(req, res);
      next(error);
    });
  };
}
