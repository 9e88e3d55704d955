/**
 * CDS Hooks JWT on real HTTP: real ES/RS keys (jose), a real JWKS listener that records every
 * request, and a fresh app (fresh key cache) per case so that the listener's log proves what each
 * refusal did or did not fetch. Traces: CDS Hooks 2.0 req. 176, 195, 199, 201, 203, 205;
 * docs/cds-contract.md#authentication.
 */
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import express, { type RequestHandler } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig, type Config } from "../src/config.js";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import { verifiedClientOf } from "../src/http/auth/verified-client.js";
import { createLogger } from "../src/log.js";
import {
  startJwksServer,
  startRecordingServer,
  type JwksServer,
  type RecordingServer,
} from "./support/jwks-server.js";
import {
  cdsClaims,
  hmacWithPublicKeyToken,
  jwksOf,
  makeSigningKey,
  signCdsToken,
  unsecuredToken,
  type SigningKey,
} from "./support/keys.js";

const BASE = "https://cds.hospital.example";
const SERVICE_PATH = "/cds-services/iguratimod-safety";
const AUD = BASE + SERVICE_PATH;
const ISS = "https://ehr.hospital.example";
const ISS_TENANT = "https://multi-tenant-ehr.example";
const ISS_JKU = "https://jku-ehr.example";

let jwks: JwksServer;
let rogue: RecordingServer;
let es384: SigningKey;
let rs384: SigningKey;

beforeAll(async () => {
  es384 = await makeSigningKey("ES384");
  rs384 = await makeSigningKey("RS384");
  jwks = await startJwksServer(jwksOf(es384, rs384));
  jwks.setKeys(jwksOf(es384), "/jku-keys");
  rogue = await startRecordingServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwksOf(es384)));
  });
});

afterAll(async () => {
  await jwks.close();
  await rogue.close();
});

function config(overrides: Record<string, string> = {}): Config {
  return testConfig({
    CDS_AUTH: "on",
    PUBLIC_BASE_URL: BASE,
    CDS_ISSUERS: JSON.stringify({
      [ISS]: { jwks_url: jwks.url("/jwks") },
      [ISS_TENANT]: { jwks_url: jwks.url("/jwks"), tenant: "tenant-1" },
      [ISS_JKU]: { jku: [jwks.url("/jku-keys")] },
    }),
    ...overrides,
  });
}

interface Harness {
  app: express.Express;
  logs: string[];
}

/** A fresh app: its own key cache; replay memory shared only when `seen` is passed. */
function harness(options: { seen?: Set<string>; now?: () => Date; cfg?: Config } = {}): Harness {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString("utf8"));
      cb();
    },
  });
  const seen = options.seen ?? new Set<string>();
  const auth: RequestHandler = createCdsAuthCore({
    config: options.cfg ?? config(),
    logger: createLogger("info", sink),
    rememberJti: (iss, jti) => {
      const key = `${iss}\n${jti}`;
      const first = !seen.has(key);
      seen.add(key);
      return Promise.resolve(first);
    },
    ...(options.now ? { now: options.now } : {}),
  });
  const app = express();
  app.use(express.json());
  app.get("/cds-services", auth, (_req, res) => {
    res.json({ services: [] });
  });
  app.post("/cds-services/:id", auth, (req, res) => {
    res.json({ cards: [], authenticatedAs: verifiedClientOf(req)?.iss });
  });
  return { app, logs };
}

function invoke(app: express.Express, token?: string) {
  const req = request(app).post(SERVICE_PATH).send({ hook: "patient-view" });
  return token === undefined ? req : req.set("Authorization", `Bearer ${token}`);
}

function expectBare401(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers["www-authenticate"]).toBe("Bearer");
  expect(res.body).toEqual({
    resourceType: "OperationOutcome",
    issue: [{ severity: "error", code: "login" }],
  });
}

describe("accepted tokens", () => {
  it("accepts a valid ES384 token, fetching the issuer's JWKS once", async () => {
    const { app } = harness();
    const before = jwks.count("/jwks");
    const res = await invoke(app, await signCdsToken(es384, cdsClaims(ISS, AUD)));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cards: [], authenticatedAs: ISS });
    expect(jwks.count("/jwks") - before).toBe(1);
  });

  it("accepts a valid RS384 token and serves a second one from the key cache", async () => {
    const { app } = harness();
    const before = jwks.count("/jwks");
    expect((await invoke(app, await signCdsToken(rs384, cdsClaims(ISS, AUD)))).status).toBe(200);
    expect((await invoke(app, await signCdsToken(rs384, cdsClaims(ISS, AUD)))).status).toBe(200);
    expect(jwks.count("/jwks") - before).toBe(1);
  });

  it("accepts ES256, ES512, RS256 and RS512 too", async () => {
    const keys = await Promise.all(
      (["ES256", "ES512", "RS256", "RS512"] as const).map((a) => makeSigningKey(a)),
    );
    const server = await startJwksServer(jwksOf(...keys));
    try {
      const { app } = harness({
        cfg: config({ CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: server.url() } }) }),
      });
      for (const key of keys) {
        expect((await invoke(app, await signCdsToken(key, cdsClaims(ISS, AUD)))).status).toBe(200);
      }
    } finally {
      await server.close();
    }
  });

  it("protects discovery: GET /cds-services needs a token whose aud is the discovery URL", async () => {
    const { app } = harness();
    expectBare401(await request(app).get("/cds-services"));
    const token = await signCdsToken(es384, cdsClaims(ISS, BASE + "/cds-services"));
    const res = await request(app).get("/cds-services").set("Authorization", `Bearer ${token}`);
    expect(res.status).toBe(200);
  });

  it("accepts a key sent by jku when that jku is on the issuer's allow-list", async () => {
    const { app } = harness();
    const before = jwks.count("/jku-keys");
    const token = await signCdsToken(es384, cdsClaims(ISS_JKU, AUD), {
      jku: jwks.url("/jku-keys"),
    });
    expect((await invoke(app, token)).status).toBe(200);
    expect(jwks.count("/jku-keys") - before).toBe(1);
  });

  it("accepts the configured tenant", async () => {
    const { app } = harness();
    expect(
      (
        await invoke(
          app,
          await signCdsToken(es384, cdsClaims(ISS_TENANT, AUD, { tenant: "tenant-1" })),
        )
      ).status,
    ).toBe(200);
  });
});

describe("refused tokens: bare 401, and the JWKS log shows what was fetched", () => {
  const now = () => Math.floor(Date.now() / 1000);

  /** Sends the token to a fresh app; returns the response and the JWKS requests it caused. */
  async function attempt(token: string | undefined) {
    const { app, logs } = harness();
    const before = jwks.requests.length;
    const res = await invoke(app, token);
    return { res, fetched: jwks.requests.slice(before).map((r) => r.path), logs };
  }

  it("refuses a missing Authorization header without any fetch", async () => {
    const { res, fetched } = await attempt(undefined);
    expectBare401(res);
    expect(fetched).toEqual([]);
  });

  it("refuses alg none without any fetch", async () => {
    const { res, fetched, logs } = await attempt(unsecuredToken(cdsClaims(ISS, AUD), es384.kid));
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"alg-not-allowed"');
  });

  it("refuses HS256 signed with the issuer's public key as the secret, without any fetch", async () => {
    for (const key of [es384, rs384]) {
      const { res, fetched, logs } = await attempt(
        await hmacWithPublicKeyToken(key, cdsClaims(ISS, AUD)),
      );
      expectBare401(res);
      expect(fetched).toEqual([]);
      expect(logs.join("")).toContain('"reason":"alg-not-allowed"');
    }
  });

  it("refuses a token signed by the wrong key type for its kid (ES384 header on an RSA kid)", async () => {
    const forged = await signCdsToken(es384, cdsClaims(ISS, AUD), { kid: rs384.kid });
    const { res, fetched, logs } = await attempt(forged);
    expectBare401(res);
    expect(fetched).toEqual(["/jwks"]);
    expect(logs.join("")).toContain('"reason":"key-type-mismatch"');
  });

  it("refuses a wrong aud (prefix, other service, trailing slash) without any fetch", async () => {
    for (const aud of [
      BASE,
      BASE + "/cds-services/iguratimod-response",
      AUD + "/",
      "http://cds.hospital.example" + SERVICE_PATH,
    ]) {
      const { res, fetched, logs } = await attempt(await signCdsToken(es384, cdsClaims(ISS, aud)));
      expectBare401(res);
      expect(fetched).toEqual([]);
      expect(logs.join("")).toContain('"reason":"aud-mismatch"');
    }
  });

  it("refuses an expired token (beyond the 60 s skew) without any fetch", async () => {
    const { res, fetched, logs } = await attempt(
      await signCdsToken(es384, cdsClaims(ISS, AUD, { iat: now() - 600, exp: now() - 61 })),
    );
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"expired"');
  });

  it("refuses iat in the future without any fetch", async () => {
    const { res, fetched, logs } = await attempt(
      await signCdsToken(es384, cdsClaims(ISS, AUD, { iat: now() + 120, exp: now() + 400 })),
    );
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"iat-in-future"');
  });

  it("refuses a lifetime (exp − iat) over JWT_MAX_LIFETIME_SECONDS, exp in year 3000 too, without any fetch", async () => {
    const year3000 = Math.floor(Date.UTC(3000, 0, 1) / 1000);
    for (const exp of [now() + 3601, year3000]) {
      const { res, fetched, logs } = await attempt(
        await signCdsToken(es384, cdsClaims(ISS, AUD, { iat: now(), exp })),
      );
      expectBare401(res);
      expect(fetched).toEqual([]);
      expect(logs.join("")).toContain('"reason":"lifetime-too-long"');
    }
  });

  it("accepts a lifetime of exactly one hour, and a longer one when the setting allows it", async () => {
    const oneHour = await signCdsToken(
      es384,
      cdsClaims(ISS, AUD, { iat: now(), exp: now() + 3600 }),
    );
    expect((await invoke(harness().app, oneHour)).status).toBe(200);
    const day = await signCdsToken(es384, cdsClaims(ISS, AUD, { iat: now(), exp: now() + 86_400 }));
    expect((await invoke(harness().app, day)).status).toBe(401);
    const cfg = config({ JWT_MAX_LIFETIME_SECONDS: "86400" });
    expect((await invoke(harness({ cfg }).app, day)).status).toBe(200);
  });

  it("refuses nbf in the future without any fetch", async () => {
    const { res, fetched, logs } = await attempt(
      await signCdsToken(es384, cdsClaims(ISS, AUD, { nbf: now() + 120 })),
    );
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"nbf-in-future"');
  });

  it("refuses a token without jti without any fetch", async () => {
    const { res, fetched } = await attempt(
      await signCdsToken(es384, cdsClaims(ISS, AUD, { jti: undefined })),
    );
    expectBare401(res);
    expect(fetched).toEqual([]);
  });

  it("refuses an unknown iss without any fetch", async () => {
    const { res, fetched, logs } = await attempt(
      await signCdsToken(es384, cdsClaims("https://evil.example", AUD)),
    );
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"iss-not-allowed"');
  });

  it("refuses a jku that is not allow-listed: zero connections reach that URL", async () => {
    const connectionsBefore = rogue.connections();
    const token = await signCdsToken(es384, cdsClaims(ISS_JKU, AUD), {
      jku: rogue.origin + "/jwks",
    });
    const { res, fetched, logs } = await attempt(token);
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"jku-not-allowed"');
    expect(rogue.connections()).toBe(connectionsBefore);
  });

  it("refuses a tenant mismatch (and a missing tenant) without any fetch", async () => {
    for (const overrides of [{ tenant: "tenant-2" }, {}]) {
      const { res, fetched, logs } = await attempt(
        await signCdsToken(es384, cdsClaims(ISS_TENANT, AUD, overrides)),
      );
      expectBare401(res);
      expect(fetched).toEqual([]);
      expect(logs.join("")).toContain('"reason":"tenant-mismatch"');
    }
  });

  it("refuses a token over 8 KB before parsing it, without any fetch", async () => {
    const token = await signCdsToken(es384, cdsClaims(ISS, AUD, { padding: "x".repeat(8200) }));
    expect(token.length).toBeGreaterThan(8192);
    const { res, fetched, logs } = await attempt(token);
    expectBare401(res);
    expect(fetched).toEqual([]);
    expect(logs.join("")).toContain('"reason":"token-too-large"');
  });

  it("refuses a token whose signature does not verify, after fetching the key once", async () => {
    const other = await makeSigningKey("ES384", es384.kid); // same kid, different private key
    const { res, fetched, logs } = await attempt(await signCdsToken(other, cdsClaims(ISS, AUD)));
    expectBare401(res);
    expect(fetched).toEqual(["/jwks"]);
    expect(logs.join("")).toContain('"reason":"signature-invalid"');
  });

  it("refuses a replayed jti on the same instance, without fetching again", async () => {
    const { app, logs } = harness();
    const token = await signCdsToken(es384, cdsClaims(ISS, AUD));
    const before = jwks.count("/jwks");
    expect((await invoke(app, token)).status).toBe(200);
    expectBare401(await invoke(app, token));
    expect(jwks.count("/jwks") - before).toBe(1);
    expect(logs.join("")).toContain('"reason":"jti-replayed"');
  });

  it("never writes the token to the log", async () => {
    const token = await signCdsToken(es384, cdsClaims(ISS, AUD + "/wrong"));
    const { logs } = await attempt(token);
    const text = logs.join("");
    expect(text).toContain("cds-auth-refused");
    for (const part of token.split(".")) expect(text).not.toContain(part);
  });
});

describe("logs of an authenticated invocation (auth layer only, until the full app exists)", () => {
  it("contain no token, no patient name and no Observation value, at debug level", async () => {
    const logs: string[] = [];
    const auth = createCdsAuthCore({
      config: config(),
      logger: createLogger(
        "trace",
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            logs.push(chunk.toString("utf8"));
            cb();
          },
        }),
      ),
      rememberJti: () => Promise.resolve(true),
    });
    const app = express();
    app.use(express.json());
    app.post("/cds-services/:id", auth, (_req, res) => {
      res.json({ cards: [] });
    });
    const token = await signCdsToken(es384, cdsClaims(ISS, AUD));
    const body = {
      hook: "patient-view",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      context: { patientId: "p-1" },
      prefetch: {
        patient: {
          resourceType: "Patient",
          id: "p-1",
          name: [{ family: "Xiaoling", given: ["Wang"] }],
        },
        hemoglobin: { resourceType: "Observation", valueQuantity: { value: 73.25, unit: "g/L" } },
      },
    };
    const ok = await request(app)
      .post(SERVICE_PATH)
      .set("Authorization", `Bearer ${token}`)
      .send(body);
    expect(ok.status).toBe(200);
    const refused = await request(app)
      .post(SERVICE_PATH)
      .set("Authorization", `Bearer ${token}x`)
      .send(body);
    expect(refused.status).toBe(401);
    const text = logs.join("");
    expect(text).toContain("cds-auth-refused");
    for (const secret of [...token.split("."), "Xiaoling", "Wang", "73.25"])
      expect(text).not.toContain(secret);
  });
});

describe("replay store failure", () => {
  it("answers 503 with an OperationOutcome (not 401, not a hang) when the replay store is down", async () => {
    const logs: string[] = [];
    const auth = createCdsAuthCore({
      config: config(),
      logger: createLogger(
        "info",
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            logs.push(chunk.toString("utf8"));
            cb();
          },
        }),
      ),
      rememberJti: () => Promise.reject(new Error("connection refused")),
    });
    const app = express();
    app.post("/cds-services/:id", auth, (_req, res) => {
      res.json({ cards: [] });
    });
    const res = await invoke(app, await signCdsToken(es384, cdsClaims(ISS, AUD)));
    expect(res.status).toBe(503);
    expect(res.body.resourceType).toBe("OperationOutcome");
    expect(logs.join("")).toContain("cds-auth-error");
  });
});

describe("key rotation", () => {
  it("refreshes once for an unknown kid, accepts it, and refuses a still-unknown kid without a second refresh", async () => {
    const first = await makeSigningKey("ES384");
    const rotated = await makeSigningKey("ES384");
    const server = await startJwksServer(jwksOf(first));
    let clock = Date.now();
    try {
      const { app, logs } = harness({
        now: () => new Date(clock),
        cfg: config({ CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: server.url() } }) }),
      });
      expect(
        (await invoke(app, await signCdsToken(first, cdsClaims(ISS, AUD, {}, clock)))).status,
      ).toBe(200);
      expect(server.count("/jwks")).toBe(1);

      // The EHR rotates its key; 31 s later (past JWKS_REFRESH_MIN_INTERVAL_MS) it signs with the new one.
      server.setKeys(jwksOf(first, rotated));
      clock += 31_000;
      expect(
        (await invoke(app, await signCdsToken(rotated, cdsClaims(ISS, AUD, {}, clock)))).status,
      ).toBe(200);
      expect(server.count("/jwks")).toBe(2);

      // A kid nobody published: no refresh within the interval, 401 each time.
      const stranger = await makeSigningKey("ES384");
      for (let i = 0; i < 3; i += 1) {
        clock += 1000;
        expectBare401(
          await invoke(app, await signCdsToken(stranger, cdsClaims(ISS, AUD, {}, clock))),
        );
      }
      expect(server.count("/jwks")).toBe(2);
      expect(logs.join("")).toContain('"reason":"kid-unknown"');

      // After the interval, one more refresh is allowed, and the kid is still unknown: 401.
      clock += 31_000;
      expectBare401(
        await invoke(app, await signCdsToken(stranger, cdsClaims(ISS, AUD, {}, clock))),
      );
      expect(server.count("/jwks")).toBe(3);
    } finally {
      await server.close();
    }
  });

  it("does not follow a JWKS endpoint that redirects to another origin", async () => {
    const target = await startJwksServer(jwksOf(es384));
    const redirecting = await startRecordingServer((_req, res) => {
      res.writeHead(302, { location: target.url() }).end();
    });
    try {
      const { app, logs } = harness({
        cfg: config({
          CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: redirecting.origin + "/jwks" } }),
        }),
      });
      expectBare401(await invoke(app, await signCdsToken(es384, cdsClaims(ISS, AUD))));
      expect(redirecting.count()).toBe(1);
      expect(target.connections()).toBe(0);
      expect(logs.join("")).toContain('"reason":"jwks-unavailable"');
    } finally {
      await target.close();
      await redirecting.close();
    }
  });
});

// docs/cds-contract.md#authentication (version 2): an issuer with a pinned `jwks_url` is verified
// with that key set only; a `jku` in its tokens is never fetched and need not be listed. This is
// how the CDS Hooks Sandbox works offline: its tokens name a `jku` the service cannot reach.
describe("an issuer with a pinned jwks_url, whose tokens carry a jku", () => {
  const SANDBOX_ISS = "https://sandbox.cds-hooks.org";
  const SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json";
  const SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f";

  it("verifies an ES384 token with the pinned key set: zero requests reach the jku", async () => {
    const { app, logs } = harness();
    const before = jwks.count("/jwks");
    const connectionsBefore = rogue.connections();
    const token = await signCdsToken(es384, cdsClaims(ISS, AUD), { jku: rogue.origin + "/jwks" });
    const res = await invoke(app, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cards: [], authenticatedAs: ISS });
    expect(jwks.count("/jwks") - before).toBe(1);
    expect(rogue.connections()).toBe(connectionsBefore);
    expect(logs.join("")).not.toContain("jku-not-allowed");
  });

  it("never takes a key from the jku, even one the issuer also lists there", async () => {
    // The jku serves the signing key; the pinned set does not hold it: refused, jku untouched.
    const stranger = await makeSigningKey("ES384");
    const jku = await startJwksServer(jwksOf(stranger));
    try {
      const { app, logs } = harness({
        cfg: config({
          CDS_ISSUERS: JSON.stringify({
            [ISS]: { jwks_url: jwks.url("/jwks"), jku: [jku.url()] },
          }),
        }),
      });
      const token = await signCdsToken(stranger, cdsClaims(ISS, AUD), { jku: jku.url() });
      expectBare401(await invoke(app, token));
      expect(logs.join("")).toContain('"reason":"kid-unknown"');
      expect(jku.connections()).toBe(0);
    } finally {
      await jku.close();
    }
  });

  it("checks a sandbox-shaped token against the sandbox's pinned public key set", async () => {
    // The sandbox's real public JWKS (test/support/cds-hooks-sandbox/jwks.json) served at a local
    // URL and pinned: a token with the sandbox's kid and jku but signed by another key fails on
    // its signature (the pinned key was used), and nothing tries the unreachable jku.
    const sandboxJwks = JSON.parse(
      readFileSync(new URL("./support/cds-hooks-sandbox/jwks.json", import.meta.url), "utf8"),
    ) as unknown;
    const pinned = await startJwksServer(sandboxJwks, "/.well-known/jwks.json");
    const impostor = await makeSigningKey("ES384", SANDBOX_KID);
    const lookalike = await startJwksServer(jwksOf(impostor), "/.well-known/jwks.json");
    try {
      const sandboxConfig = (url: string) =>
        config({ CDS_ISSUERS: JSON.stringify({ [SANDBOX_ISS]: { jwks_url: url } }) });
      const token = await signCdsToken(impostor, cdsClaims(SANDBOX_ISS, AUD), { jku: SANDBOX_JKU });

      const refused = harness({ cfg: sandboxConfig(pinned.url("/.well-known/jwks.json")) });
      expectBare401(await invoke(refused.app, token));
      expect(refused.logs.join("")).toContain('"reason":"signature-invalid"');
      expect(pinned.count("/.well-known/jwks.json")).toBe(1);

      // The same token against a pinned set that holds its key: accepted, jku still untouched.
      const accepted = harness({ cfg: sandboxConfig(lookalike.url("/.well-known/jwks.json")) });
      const res = await invoke(accepted.app, token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ cards: [], authenticatedAs: SANDBOX_ISS });
      expect(lookalike.count("/.well-known/jwks.json")).toBe(1);
    } finally {
      await pinned.close();
      await lookalike.close();
    }
  });
});
