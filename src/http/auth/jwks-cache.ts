/**
 * Issuers' public keys (JWK Sets), cached per URL.
 *
 * Why the refresh rules: an EHR that rotates its key starts signing with a new `kid`, so an
 * unknown `kid` is worth ONE re-fetch of the set (docs/cds-contract.md#authentication: an
 * unknown `kid` causes a refresh). But the `kid` is chosen by whoever sends the token, so without a limit any
 * stranger could make us hammer the EHR's JWKS endpoint; hence at most one fetch per URL per
 * JWKS_REFRESH_MIN_INTERVAL_MS, and concurrent requests share one fetch.
 */
import { importJWK, type CryptoKey, type JWK } from "jose";
import { keyFitsAlgorithm, type CdsJwtAlgorithm } from "./algorithms.js";

export type JwksLoader = (url: string) => Promise<unknown>;

/** Sets older than this are fetched again on next use (a removed key must stop working). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;

export type KeyLookup =
  | { readonly found: true; readonly key: CryptoKey }
  | {
      readonly found: false;
      readonly reason: "kid-unknown" | "key-type-mismatch" | "jwks-unavailable";
    };

interface Entry {
  keys: readonly JWK[] | undefined;
  loadedAt: number;
  lastAttemptAt: number;
  inflight: Promise<void> | undefined;
  imported: Map<string, CryptoKey>;
}

export interface JwksCacheOptions {
  readonly load: JwksLoader;
  readonly minRefreshIntervalMs: number;
  readonly now?: () => number;
  readonly maxAgeMs?: number;
  /** Called when a fetch fails; the error never contains a token. */
  readonly onLoadError?: (url: string, error: unknown) => void;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxAgeMs = options.maxAgeMs ?? JWKS_MAX_AGE_MS;
  }

  async keyFor(url: string, kid: string, alg: CdsJwtAlgorithm): Promise<KeyLookup> {
    let entry = this.entries.get(url);
    if (entry === undefined) {
      entry = {
        keys: undefined,
        loadedAt: 0,
        lastAttemptAt: -Infinity,
        inflight: undefined,
        imported: new Map(),
      };
      this.entries.set(url, entry);
    }
    const stale = entry.keys === undefined || this.now() - entry.loadedAt > this.maxAgeMs;
    if (stale) await this.refresh(url, entry);
    if (entry.keys === undefined) return { found: false, reason: "jwks-unavailable" };

    let jwk = entry.keys.find((k) => k.kid === kid);
    if (jwk === undefined) {
      // Key rotation: one refresh, unless one happened within the interval.
      await this.refresh(url, entry);
      jwk = entry.keys.find((k) => k.kid === kid);
      if (jwk === undefined) return { found: false, reason: "kid-unknown" };
    }
    if (!keyFitsAlgorithm(jwk, alg)) return { found: false, reason: "key-type-mismatch" };

    const cacheKey = `${kid}\u0000${alg}`;
    const cached = entry.imported.get(cacheKey);
    if (cached) return { found: true, key: cached };
    try {
      const key = await importJWK(jwk, alg);
      if (key instanceof Uint8Array) return { found: false, reason: "key-type-mismatch" };
      entry.imported.set(cacheKey, key);
      return { found: true, key };
    } catch {
      return { found: false, reason: "key-type-mismatch" };
    }
  }

  /** Fetch the set again if allowed now; waits for a fetch already under way. */
  private async refresh(url: string, entry: Entry): Promise<void> {
    if (entry.inflight) return entry.inflight;
    if (this.now() - entry.lastAttemptAt < this.options.minRefreshIntervalMs) return;
    entry.lastAttemptAt = this.now();
    entry.inflight = (async () => {
      try {
        const keys = parseJwks(await this.options.load(url));
        entry.keys = keys;
        entry.loadedAt = this.now();
        entry.imported = new Map();
      } catch (error) {
        // Keep the previous keys (if any): an EHR's JWKS outage should not log everyone out.
        this.options.onLoadError?.(url, error);
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  }
}

export class JwksFormatError extends Error {
  constructor(reason: string) {
    super(`JWKS: ${reason}`);
    this.name = "JwksFormatError";
  }
}

/** Keep the entries that are objects with a string `kid` and an asymmetric key type. */
export function parseJwks(body: unknown): JWK[] {
  if (
    typeof body !== "object" ||
    body === null ||
    !Array.isArray((body as { keys?: unknown }).keys)
  ) {
    throw new JwksFormatError("not a JWK Set (no keys array)");
  }
  const keys = (body as { keys: unknown[] }).keys;
  return keys.filter(
    (k): k is JWK =>
      typeof k === "object" &&
      k !== null &&
      typeof (k as JWK).kid === "string" &&
      ((k as JWK).kty === "EC" || (k as JWK).kty === "RSA"),
  );
}
