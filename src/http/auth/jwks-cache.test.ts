import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { JwksCache } from "./jwks-cache.js";

async function ecJwk(kid: string) {
  const { publicKey } = await generateKeyPair("ES384", { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: "ES384" };
}

/** In-memory loader: records every fetch of each URL. */
function loaderServing(sets: Map<string, unknown>) {
  const calls: string[] = [];
  return {
    calls,
    load: (url: string) => {
      calls.push(url);
      const set = sets.get(url);
      return set === undefined ? Promise.reject(new Error("404")) : Promise.resolve(set);
    },
  };
}

describe("JwksCache", () => {
  it("fetches a set once and serves later lookups from the cache", async () => {
    const sets = new Map<string, unknown>([["u", { keys: [await ecJwk("a")] }]]);
    const loader = loaderServing(sets);
    const cache = new JwksCache({ load: loader.load, minRefreshIntervalMs: 30_000 });
    expect((await cache.keyFor("u", "a", "ES384")).found).toBe(true);
    expect((await cache.keyFor("u", "a", "ES384")).found).toBe(true);
    expect(loader.calls).toEqual(["u"]);
  });

  it("refreshes once for an unknown kid after the interval, then finds the rotated key", async () => {
    let t = 0;
    const sets = new Map<string, unknown>([["u", { keys: [await ecJwk("a")] }]]);
    const loader = loaderServing(sets);
    const cache = new JwksCache({ load: loader.load, minRefreshIntervalMs: 30_000, now: () => t });
    await cache.keyFor("u", "a", "ES384");
    sets.set("u", { keys: [await ecJwk("a"), await ecJwk("b")] });
    t = 10_000;
    expect(await cache.keyFor("u", "b", "ES384")).toEqual({ found: false, reason: "kid-unknown" });
    expect(loader.calls).toHaveLength(1);
    t = 31_000;
    expect((await cache.keyFor("u", "b", "ES384")).found).toBe(true);
    expect(loader.calls).toHaveLength(2);
    expect(await cache.keyFor("u", "c", "ES384")).toEqual({ found: false, reason: "kid-unknown" });
    expect(loader.calls).toHaveLength(2);
  });

  it("shares one fetch between concurrent lookups", async () => {
    const sets = new Map<string, unknown>([["u", { keys: [await ecJwk("a")] }]]);
    const loader = loaderServing(sets);
    const cache = new JwksCache({ load: loader.load, minRefreshIntervalMs: 0 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => cache.keyFor("u", "a", "ES384")),
    );
    expect(results.every((r) => r.found)).toBe(true);
    expect(loader.calls).toHaveLength(1);
  });

  it("reports jwks-unavailable when the first fetch fails and does not retry within the interval", async () => {
    const loader = loaderServing(new Map());
    const cache = new JwksCache({ load: loader.load, minRefreshIntervalMs: 30_000, now: () => 0 });
    expect(await cache.keyFor("u", "a", "ES384")).toEqual({
      found: false,
      reason: "jwks-unavailable",
    });
    expect(await cache.keyFor("u", "a", "ES384")).toEqual({
      found: false,
      reason: "jwks-unavailable",
    });
    expect(loader.calls).toHaveLength(1);
  });

  it("refuses a key of the wrong type for the token's algorithm", async () => {
    const sets = new Map<string, unknown>([["u", { keys: [await ecJwk("a")] }]]);
    const cache = new JwksCache({ load: loaderServing(sets).load, minRefreshIntervalMs: 0 });
    expect(await cache.keyFor("u", "a", "RS384")).toEqual({
      found: false,
      reason: "key-type-mismatch",
    });
  });
});
