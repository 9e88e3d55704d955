import { describe, expect, it } from "vitest";
import { JwksCache } from "./jwks-cache.js";
import { verifyCdsToken, type VerifyContext } from "./verify.js";

// The official CDS Hooks 2.0 example JWT and its public JWK Set, verbatim from the specification
// (shared/reference/cds-hooks-2.0-examples/jwt-example-compact.txt, jwks-public-example.json).
const exampleToken =
  "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb";
const exampleJwks: unknown = {
  keys: [
    {
      kty: "EC",
      use: "sig",
      crv: "P-384",
      kid: "example-kid",
      x: "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
      y: "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
      alg: "ES384",
    },
  ],
};
const ISS = "https://fhir-ehr.example.com/";
const JKU = "https://fhir-ehr.example.com/jwk_uri";

function context(
  overrides: Partial<VerifyContext> = {},
): VerifyContext & { fetched: string[]; seen: Set<string> } {
  const fetched: string[] = [];
  const seen = new Set<string>();
  return {
    issuers: { [ISS]: { jku: [JKU], tenant: "2ddd6c3a-8e9a-44c6-a305-52111ad302a2" } },
    maxTokenBytes: 8192,
    skewSeconds: 60,
    // The example is issued for four years (2011 to 2015); here only the signature and the
    // other claims are at stake. The lifetime limit's default refuses it (below).
    maxLifetimeSeconds: 4 * 366 * 86_400,
    audience: "https://cds.example.org/cds-services/some-service",
    now: new Date(1_400_000_000_000), // between the example's iat (2011) and exp (2015)
    keys: new JwksCache({
      minRefreshIntervalMs: 30_000,
      load: (url) => {
        fetched.push(url);
        return Promise.resolve(exampleJwks);
      },
    }),
    rememberJti: (iss, jti) => {
      const first = !seen.has(`${iss} ${jti}`);
      seen.add(`${iss} ${jti}`);
      return Promise.resolve(first);
    },
    fetched,
    seen,
    ...overrides,
  };
}

describe("verifyCdsToken with the official CDS Hooks 2.0 example JWT", () => {
  it("accepts it when its issuer, jku and tenant are configured and the clock is within its lifetime", async () => {
    const ctx = context();
    const outcome = await verifyCdsToken(exampleToken, ctx);
    expect(outcome).toEqual({
      ok: true,
      client: {
        iss: ISS,
        jti: "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e",
        tenant: "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
      },
    });
    expect(ctx.fetched).toEqual([JKU]);
  });

  it("refuses the same token a second time (jti replay)", async () => {
    const ctx = context();
    await verifyCdsToken(exampleToken, ctx);
    expect(await verifyCdsToken(exampleToken, ctx)).toMatchObject({
      ok: false,
      reason: "jti-replayed",
    });
  });

  it("refuses it under the default lifetime limit (one hour) without fetching keys", async () => {
    const ctx = context({ maxLifetimeSeconds: undefined });
    expect(await verifyCdsToken(exampleToken, ctx)).toMatchObject({
      ok: false,
      reason: "lifetime-too-long",
    });
    expect(ctx.fetched).toEqual([]);
  });

  it("refuses it today (expired since 2015) without fetching keys", async () => {
    const ctx = context({ now: new Date() });
    expect(await verifyCdsToken(exampleToken, ctx)).toMatchObject({ ok: false, reason: "expired" });
    expect(ctx.fetched).toEqual([]);
  });

  it("refuses a jku that is not on the issuer's list, before any fetch", async () => {
    const ctx = context({ issuers: { [ISS]: { jku: ["https://fhir-ehr.example.com/other"] } } });
    expect(await verifyCdsToken(exampleToken, ctx)).toMatchObject({
      ok: false,
      reason: "jku-not-allowed",
    });
    expect(ctx.fetched).toEqual([]);
  });

  it("refuses an issuer named like an Object member", async () => {
    const forged = exampleToken.split(".");
    forged[1] = Buffer.from(JSON.stringify({ iss: "constructor" })).toString("base64url");
    const ctx = context();
    expect(await verifyCdsToken(forged.join("."), ctx)).toMatchObject({
      ok: false,
      reason: "iss-not-allowed",
    });
  });

  it("refuses a token whose payload was altered after signing", async () => {
    const parts = exampleToken.split(".");
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    parts[1] = Buffer.from(JSON.stringify({ ...payload, jti: "another" })).toString("base64url");
    const ctx = context();
    expect(await verifyCdsToken(parts.join("."), ctx)).toMatchObject({
      ok: false,
      reason: "signature-invalid",
    });
    expect(ctx.seen.size).toBe(0);
  });

  it("refuses an oversized token and garbage without decoding", async () => {
    const ctx = context({ maxTokenBytes: 100 });
    expect(await verifyCdsToken(exampleToken, ctx)).toMatchObject({
      ok: false,
      reason: "token-too-large",
    });
    expect(await verifyCdsToken("not a jwt", context())).toMatchObject({
      ok: false,
      reason: "malformed",
    });
    expect(await verifyCdsToken("a.b.c", context())).toMatchObject({
      ok: false,
      reason: "malformed",
    });
  });
});
