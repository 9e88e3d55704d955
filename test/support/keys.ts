/**
 * Real signing keys and real signed CDS Hooks JWTs for tests (jose), plus the forged kinds an
 * attacker would send: `alg: none`, and HS256 signed with the issuer's PUBLIC key as the secret.
 */
import { randomUUID } from "node:crypto";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from "jose";

export type TestAlgorithm = "ES256" | "ES384" | "ES512" | "RS256" | "RS384" | "RS512";

export interface SigningKey {
  readonly alg: TestAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** As published in a JWK Set: kid, alg and use set. */
  readonly publicJwk: JWK;
}

export async function makeSigningKey(
  alg: TestAlgorithm,
  kid = `${alg.toLowerCase()}-${randomUUID()}`,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

export function jwksOf(...keys: SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** The claims a conforming EHR sends, valid now; override any of them. */
export function cdsClaims(
  iss: string,
  aud: string,
  overrides: JWTPayload = {},
  nowMs = Date.now(),
): JWTPayload {
  const now = Math.floor(nowMs / 1000);
  return { iss, aud, iat: now, exp: now + 300, jti: randomUUID(), ...overrides };
}

/** Signs with the key's own algorithm and kid (header overrides allowed, e.g. jku, kid). */
export async function signCdsToken(
  key: SigningKey,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: "JWT", kid: key.kid, ...header })
    .sign(key.privateKey);
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsecured JWT (`alg: none`, empty signature), as RFC 7519 §6 spells it. */
export function unsecuredToken(claims: JWTPayload, kid = "any"): string {
  return `${b64url({ alg: "none", typ: "JWT", kid })}.${b64url(claims)}.`;
}

/** The key-confusion forgery: HS256 whose HMAC secret is the issuer's public key (PEM bytes). */
export async function hmacWithPublicKeyToken(key: SigningKey, claims: JWTPayload): Promise<string> {
  const secret = new TextEncoder().encode(await exportSPKI(key.publicKey));
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: key.kid })
    .sign(secret);
}
