/**
 * Express middleware: CDS Hooks JWT on discovery, invocation and feedback (docs/cds-contract.md#authentication).
 *
 * A refusal is a bare 401 with `WWW-Authenticate: Bearer` and a minimal OperationOutcome that
 * says nothing about why (the reason would help an attacker tune a forgery); the reason goes to
 * the log (at most once per second per reason, with a count) with the allow-listed issuer, never the token.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import { safeFetch } from "../../net/outbound.js";
import { sendError, serviceUnavailable, unauthorized } from "../errors.js";
import { createRefusalLog } from "../refusal-log.js";
import { JwksCache } from "./jwks-cache.js";
import { setVerifiedClient } from "./verified-client.js";
import { verifyCdsToken, type ReplayGuard } from "./verify.js";

/** A JWK Set is a few kilobytes; anything near this is not one. */
export const JWKS_MAX_BYTES = 256 * 1024;
export const JWKS_TIMEOUT_MS = 3000;
/** How often expired `jti` rows are cleared, at most (piggy-backed on requests: no timer). */
export const JTI_PURGE_INTERVAL_MS = 10 * 60_000;

export interface CdsAuthCoreOptions {
  readonly config: Pick<
    Config,
    | "CDS_ISSUERS"
    | "JWT_MAX_BYTES"
    | "JWT_CLOCK_SKEW_SECONDS"
    | "JWT_MAX_LIFETIME_SECONDS"
    | "JWKS_REFRESH_MIN_INTERVAL_MS"
    | "publicBaseUrl"
  >;
  readonly logger: Logger;
  readonly rememberJti: ReplayGuard;
  /** Deletes replay rows that expired before `now`; optional (E's purgeExpiredJti). */
  readonly purgeExpiredJti?: (now: Date) => Promise<unknown>;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

/** Sends the refusal: 401, `WWW-Authenticate: Bearer`, an OperationOutcome without detail. */
export function sendUnauthorized(res: Response): void {
  sendError(res, unauthorized());
}

export function bearerTokenOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match?.[1];
}

/** Path of the request as the client addressed it (no query), for the `aud` comparison. */
function requestPath(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

export function createCdsAuthCore(options: CdsAuthCoreOptions): RequestHandler {
  const { config, logger } = options;
  const now = options.now ?? (() => new Date());
  const keys = new JwksCache({
    minRefreshIntervalMs: config.JWKS_REFRESH_MIN_INTERVAL_MS,
    now: () => now().getTime(),
    load: async (url) => {
      // The JWKS URL is configuration (or a `jku` on the allow-list), so its own origin is the
      // allow-list; a redirect elsewhere is still refused by safeFetch.
      const response = await safeFetch(
        url,
        { headers: { accept: "application/json, application/jwk-set+json" } },
        {
          allowlist: [new URL(url).origin],
          timeoutMs: JWKS_TIMEOUT_MS,
          maxResponseBytes: JWKS_MAX_BYTES,
        },
      );
      if (!response.ok) throw new Error(`JWKS answered HTTP ${response.status}`);
      return await response.json();
    },
    onLoadError: (url, error) => {
      logger.warn(
        {
          event: "jwks-fetch-failed",
          jwksOrigin: new URL(url).origin,
          error: (error as Error).name,
        },
        "could not fetch a JWK Set",
      );
    },
  });
  let lastPurgeAt = 0;
  // One line per second per reason (and issuer), with a count: a flood of bad tokens must not
  // flood the log.
  const refusals = createRefusalLog(logger, "cds-auth-refused", "CDS Hooks JWT refused");

  const purgeIfDue = (at: Date): void => {
    if (!options.purgeExpiredJti || at.getTime() - lastPurgeAt < JTI_PURGE_INTERVAL_MS) return;
    lastPurgeAt = at.getTime();
    options.purgeExpiredJti(at).catch((error: unknown) => {
      logger.warn(
        { event: "jti-purge-failed", error: (error as Error).name },
        "could not purge expired jti rows",
      );
    });
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    // CORS preflight carries no Authorization by design (Fetch standard); it is answered by CORS.
    if (req.method === "OPTIONS") {
      next();
      return;
    }
    const path = requestPath(req);
    const token = bearerTokenOf(req);
    if (token === undefined) {
      refusals.note("no-token");
      sendUnauthorized(res);
      return;
    }
    const at = now();
    verifyCdsToken(token, {
      issuers: config.CDS_ISSUERS,
      maxTokenBytes: config.JWT_MAX_BYTES,
      skewSeconds: config.JWT_CLOCK_SKEW_SECONDS,
      maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS,
      audience: config.publicBaseUrl + path,
      now: at,
      keys,
      rememberJti: options.rememberJti,
    }).then(
      (outcome) => {
        if (!outcome.ok) {
          refusals.note(outcome.reason, outcome.iss);
          sendUnauthorized(res);
          return;
        }
        setVerifiedClient(req, outcome.client);
        purgeIfDue(at);
        next();
      },
      (error: unknown) => {
        // The replay store (database) failed: we cannot tell a replay from a first use, so the
        // request is not let through; 503 says "try again", not "your token is bad".
        logger.error(
          { event: "cds-auth-error", error: (error as Error).name, path },
          "JWT check could not complete",
        );
        if (res.headersSent) return;
        sendError(res, serviceUnavailable("authentication is unavailable; retry"));
      },
    );
  };
}
