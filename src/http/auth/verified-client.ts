/**
 * The CDS client a request was authenticated as, attached to the request without `res.locals`:
 * a WeakMap keyed by the request object, so it cannot be forged by a header or a body field and
 * disappears with the request.
 */
import type { Request } from "express";

export interface VerifiedCdsClient {
  /** The JWT `iss`, already checked against CDS_ISSUERS. */
  readonly iss: string;
  readonly sub?: string;
  readonly tenant?: string;
  readonly jti: string;
}

const verified = new WeakMap<Request, VerifiedCdsClient>();

export function setVerifiedClient(req: Request, client: VerifiedCdsClient): void {
  verified.set(req, client);
}

/** Undefined when the request was not authenticated (CDS_AUTH=off, or a route without auth). */
export function verifiedClientOf(req: Request): VerifiedCdsClient | undefined {
  return verified.get(req);
}
