/**
 * Bearer token for the operator API (`GET /alerts` and admin routes), docs/cds-contract.md#alerts.
 *
 * The token is configured only as its SHA-256 (OPERATOR_TOKEN_SHA256), so the configuration
 * does not hold a usable secret. The presented token is hashed and the two digests compared with
 * `crypto.timingSafeEqual`: both are always 32 bytes, so the time taken says nothing about how
 * much of the token was right. Without configuration the operator API is closed (403), never open.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../config.js";
import { bearerTokenOf } from "./auth/middleware.js";
import { forbidden, sendError, unauthorized } from "./errors.js";

export function requireOperator(config: Pick<Config, "OPERATOR_TOKEN_SHA256">): RequestHandler {
  const expected =
    config.OPERATOR_TOKEN_SHA256 === undefined
      ? undefined
      : Buffer.from(config.OPERATOR_TOKEN_SHA256, "hex");

  return (req: Request, res: Response, next: NextFunction): void => {
    if (expected === undefined) {
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
      sendError(
        res,
        unauthorized("operator token missing or wrong", 'Bearer realm="ln-cds-operator"'),
      );
      return;
    }
    next();
  };
}
