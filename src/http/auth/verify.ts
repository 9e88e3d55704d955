/**
 * Verification of one CDS Hooks bearer JWT (CDS Hooks 2.0 "Trusting CDS Clients";
 * docs/cds-contract.md#authentication).
 *
 * The order matters: every check that needs no network (size, shape, algorithm, issuer, `jku`,
 * claims) comes before the key is looked up, so a token that can never pass causes no fetch,
 * and a `jku` that is not on the issuer's allow-list is never contacted. The replay store is
 * written last, only for a token whose signature verified, so a forged token cannot burn the
 * `jti` of a genuine one.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
} from "jose";
import type { Config } from "../../config.js";
import { isAcceptedAlgorithm } from "./algorithms.js";
import { checkCdsClaims, type ClaimRefusal } from "./claims.js";
import type { JwksCache } from "./jwks-cache.js";
import type { VerifiedCdsClient } from "./verified-client.js";

export type AuthRefusal =
  | ClaimRefusal
  | "no-token"
  | "token-too-large"
  | "malformed"
  | "alg-not-allowed"
  | "kid-missing"
  | "iss-not-allowed"
  | "jku-not-allowed"
  | "no-jwks-for-issuer"
  | "kid-unknown"
  | "key-type-mismatch"
  | "jwks-unavailable"
  | "signature-invalid"
  | "jti-replayed";

export type VerifyOutcome =
  | { readonly ok: true; readonly client: VerifiedCdsClient }
  | {
      readonly ok: false;
      readonly reason: AuthRefusal;
      /** The claimed issuer, only when it is on the allow-list (safe and useful to log). */
      readonly iss?: string;
    };

/** Remembers a `jti` until `expiresAt`; resolves false when it was seen before (a replay). */
export type ReplayGuard = (iss: string, jti: string, expiresAt: Date) => Promise<boolean>;

export interface VerifyContext {
  readonly issuers: Config["CDS_ISSUERS"];
  readonly maxTokenBytes: number;
  readonly skewSeconds: number;
  /** Longest accepted `exp − iat`, in seconds (JWT_MAX_LIFETIME_SECONDS). */
  readonly maxLifetimeSeconds?: number;
  /** publicBaseUrl + request path. */
  readonly audience: string;
  readonly now: Date;
  readonly keys: JwksCache;
  readonly rememberJti: ReplayGuard;
}

// Signature may be empty here so that `alg: none` is refused (and logged) as what it is.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_KID_LENGTH = 256;

export async function verifyCdsToken(token: string, ctx: VerifyContext): Promise<VerifyOutcome> {
  // Size first: nothing of an oversized token is decoded (bearer tokens arrive as latin1 header
  // bytes, so string length = bytes).
  if (token.length > ctx.maxTokenBytes) return { ok: false, reason: "token-too-large" };
  if (!COMPACT_JWS.test(token)) return { ok: false, reason: "malformed" };

  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    return { ok: false, reason: "malformed" };
  }

  // CDS Hooks 2.0 req. 201/203: no `none`, no HMAC. Checked on the header, before any key.
  const alg = header.alg;
  if (!isAcceptedAlgorithm(alg)) return { ok: false, reason: "alg-not-allowed" };
  const kid = header.kid;
  if (typeof kid !== "string" || kid === "" || kid.length > MAX_KID_LENGTH) {
    return { ok: false, reason: "kid-missing" };
  }

  // Own-property lookup: an `iss` of "constructor" or "__proto__" must not find Object's members.
  const iss = payload.iss;
  if (typeof iss !== "string" || !Object.hasOwn(ctx.issuers, iss))
    return { ok: false, reason: "iss-not-allowed" };
  const issuer = ctx.issuers[iss];
  if (issuer === undefined) return { ok: false, reason: "iss-not-allowed" };

  // Where the keys come from (docs/cds-contract.md#authentication). A pinned `jwks_url` is the
  // only key set of its issuer: a `jku` in the token is then ignored, never fetched, and need not
  // be listed (a client such as the CDS Hooks Sandbox names a `jku` that may be unreachable).
  // Without a pinned set, CDS Hooks 2.0 req. 195: the `jku` is used only when it is exactly one of
  // this issuer's allowed URLs; otherwise it is refused and never fetched.
  let jwksUrl: string;
  if (issuer.jwks_url !== undefined) {
    jwksUrl = issuer.jwks_url;
  } else if (header.jku !== undefined) {
    if (typeof header.jku !== "string" || !(issuer.jku ?? []).includes(header.jku)) {
      return { ok: false, reason: "jku-not-allowed", iss };
    }
    jwksUrl = header.jku;
  } else {
    return { ok: false, reason: "no-jwks-for-issuer", iss };
  }

  const nowSeconds = Math.floor(ctx.now.getTime() / 1000);
  const claimRefusal = checkCdsClaims(payload, {
    audience: ctx.audience,
    tenant: issuer.tenant,
    nowSeconds,
    skewSeconds: ctx.skewSeconds,
    ...(ctx.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: ctx.maxLifetimeSeconds } : {}),
  });
  if (claimRefusal) return { ok: false, reason: claimRefusal, iss };

  const lookup = await ctx.keys.keyFor(jwksUrl, kid, alg);
  if (!lookup.found) return { ok: false, reason: lookup.reason, iss };

  let verified: JWTPayload;
  try {
    const result = await jwtVerify(token, lookup.key, {
      // Pinned: the one algorithm this key fits (keyFitsAlgorithm), never a list from the token.
      algorithms: [alg],
      issuer: iss,
      audience: ctx.audience,
      clockTolerance: ctx.skewSeconds,
      currentDate: ctx.now,
      requiredClaims: ["exp", "iat", "jti"],
    });
    verified = result.payload;
  } catch (error) {
    return { ok: false, reason: joseRefusal(error), iss };
  }

  // Claims were checked on the same bytes before; jti/exp are read from the verified payload.
  const jti = verified.jti as string;
  const exp = verified.exp as number;
  // Kept until the token could no longer pass the `exp` check, skew included.
  const expiresAt = new Date((exp + ctx.skewSeconds) * 1000);
  const firstSeen = await ctx.rememberJti(iss, jti, expiresAt);
  if (!firstSeen) return { ok: false, reason: "jti-replayed", iss };

  const client: VerifiedCdsClient = {
    iss,
    jti,
    ...(typeof verified.sub === "string" ? { sub: verified.sub } : {}),
    ...(typeof verified.tenant === "string" ? { tenant: verified.tenant } : {}),
  };
  return { ok: true, client };
}

function joseRefusal(error: unknown): AuthRefusal {
  if (error instanceof joseErrors.JWTExpired) return "expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "aud":
        return "aud-mismatch";
      case "nbf":
        return "nbf-in-future";
      case "iat":
        return "iat-in-future";
      default:
        return "claim-type-invalid";
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "alg-not-allowed";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return "malformed";
  return "signature-invalid";
}
