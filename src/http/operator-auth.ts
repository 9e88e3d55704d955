/**
 * Bearer token for the operator API (`GET /alerts` and admin routes), docs/cds-contract.md#alerts.
 *
 * The token is configured only as its SHA-256 (OPERATOR_TOKEN_SHA256), so the configuration
 * does not hold a usable secret. The presented token is hashed and the two digests compared with
 * `crypto.timingSafeEqual`: both are always 32 bytes, so the time taken says nothing about how
 * much of the token was right. Without configuration the operator API is closed (403), never open.
 *
 * Refusals are logged like those of the CDS Hooks JWTs (refusal-log.ts): per reason
 * ("no-token", "wrong-token", "disabled"), at most once a second with a count, never the token.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { bearerTokenOf } from "./auth/middleware.js";
import { forbidden, sendError, unauthorized } from "./errors.js";
import { createRefusalLog } from "./refusal-log.js";

export function requireOperator(
  config: Pick<Config, "OPERATOR_TOKEN_SHA256">,
  logger: Logger,
): RequestHandler {
  const refusals = createRefusalLog(
    logger,
    "operator-auth-refused",
    "operator API request refused",
  );
  const expected =
    config.OPERATOR_TOKEN_SHA256 === undefined
      ? undefined
      : Buffer.from(config.OPERATOR_TOKEN_SHA256, "hex");

  return (req: Request, res: Response, next: NextFunction): void => {
    if (expected === undefined) {
      refusals.note("disabled");
      sendError(res, forbidden("the operator API is disabled: OPERATOR_TOKEN_SHA256 is not set"));
      return;
    }
    const token = bearerTokenOf(req);
    const presented = createHash("sha256")
      .update(token ?? "", "utf8")
      .digest();
    // Hash even when no token was sent, so a missing and a wrong token take the same time.
    const match = timingSafeEqual(presented, expected) && token !== undefined;
    if (!match) {
      refusals.note(token === undefined ? "no-token" : "wrong-token");
      sendError(
        res,
        unauthorized("operator token missing or wrong", 'Bearer realm="ln-cds-operator"'),
      );
      return;
    }
    next();
  };
}
