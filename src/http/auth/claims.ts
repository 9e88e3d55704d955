/**
 * Checks of the CDS Hooks JWT claims, pure (clock passed in), applied to the payload before any
 * key is fetched, so a token that could never pass costs no network request. jose checks
 * exp/nbf/aud/iss again after the signature; `iat` in the future, `jti` and `tenant` are only here.
 *
 * docs/cds-contract.md#authentication: `aud` = exact endpoint URL; `exp` in the future, `iat` not in
 * the future, `nbf` if present, with skew; `jti` required; `tenant` when configured; `sub` optional.
 */
import type { JWTPayload } from "jose";

export type ClaimRefusal =
  | "aud-mismatch"
  | "exp-missing"
  | "expired"
  | "iat-missing"
  | "iat-in-future"
  | "nbf-in-future"
  | "jti-missing"
  | "lifetime-too-long"
  | "tenant-mismatch"
  | "claim-type-invalid";

export interface ClaimExpectations {
  /** publicBaseUrl + request path, compared as an exact string. */
  readonly audience: string;
  /** When the issuer's configuration names a tenant. */
  readonly tenant?: string | undefined;
  /** Seconds since the epoch. */
  readonly nowSeconds: number;
  readonly skewSeconds: number;
  /**
   * Longest accepted lifetime, `exp − iat`, in seconds (default one hour). A token valid for
   * years could be replayed for years by whoever copies it, and its replay row kept as long.
   */
  readonly maxLifetimeSeconds?: number;
}

export const DEFAULT_MAX_LIFETIME_SECONDS = 3600;

/** Longest `jti` stored in the replay table; real clients send UUIDs (36 characters). */
export const MAX_JTI_LENGTH = 255;

const isNumericDate = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export function checkCdsClaims(
  payload: JWTPayload,
  expected: ClaimExpectations,
): ClaimRefusal | undefined {
  const { aud, exp, iat, nbf, jti, sub } = payload;
  const now = expected.nowSeconds;
  const skew = expected.skewSeconds;

  // RFC 7519 allows an array audience; the endpoint URL must be in it exactly (no prefix match).
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(expected.audience)) return "aud-mismatch";

  if (exp === undefined) return "exp-missing";
  if (!isNumericDate(exp)) return "claim-type-invalid";
  if (exp <= now - skew) return "expired";

  if (iat === undefined) return "iat-missing";
  if (!isNumericDate(iat)) return "claim-type-invalid";
  if (iat > now + skew) return "iat-in-future";
  if (exp - iat > (expected.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS)) {
    return "lifetime-too-long";
  }

  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) return "claim-type-invalid";
    if (nbf > now + skew) return "nbf-in-future";
  }

  if (jti === undefined || jti === "") return "jti-missing";
  if (typeof jti !== "string" || jti.length > MAX_JTI_LENGTH) return "claim-type-invalid";

  if (sub !== undefined && typeof sub !== "string") return "claim-type-invalid";

  if (expected.tenant !== undefined && payload.tenant !== expected.tenant) return "tenant-mismatch";
  return undefined;
}
