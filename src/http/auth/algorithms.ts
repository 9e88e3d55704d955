/**
 * Which signature algorithms a CDS Hooks JWT may use, and which key may verify which algorithm.
 *
 * CDS Hooks 2.0 (requirements 201, 203, 205): never `none`, never a symmetric (HMAC) algorithm;
 * ES384 and RS384 recommended. We also accept the other ECDSA and RSASSA-PKCS1 sizes.
 * The algorithm is pinned by the key: an EC key verifies only the ES* of its curve, an RSA key
 * only RS*, and a key that names its `alg` only that one. So a token cannot choose how its own
 * signature is checked (the "HS256 signed with the public key" confusion has nowhere to go).
 */
import type { JWK } from "jose";

export const CDS_JWT_ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512"] as const;
export type CdsJwtAlgorithm = (typeof CDS_JWT_ALGORITHMS)[number];

const CURVE_OF: Readonly<Record<string, string>> = {
  ES256: "P-256",
  ES384: "P-384",
  ES512: "P-521",
};

export function isAcceptedAlgorithm(alg: unknown): alg is CdsJwtAlgorithm {
  return typeof alg === "string" && (CDS_JWT_ALGORITHMS as readonly string[]).includes(alg);
}

/** True when this published key may verify a signature made with `alg`. */
export function keyFitsAlgorithm(jwk: JWK, alg: CdsJwtAlgorithm): boolean {
  // A published verification key never carries private parts; one that does is mis-published.
  if ("d" in jwk) return false;
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify")) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg.startsWith("ES")) return jwk.kty === "EC" && jwk.crv === CURVE_OF[alg];
  return jwk.kty === "RSA";
}
