/**
 * Operator token (issue 5 §3), per-issuer rate limit (§6) and the request time limit (§5),
 * each on a real express app over HTTP.
 */
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { testConfig } from "../src/config.js";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import { requireOperator } from "../src/http/operator-auth.js";
import { createIssuerRateLimit } from "../src/http/rate-limit.js";
import { requestSignalOf, requestTimeLimit } from "../src/http/request-timeout.js";
import { createLogger } from "../src/log.js";
import { useSigningIssuer } from "./support/jwks-server.js";
import { cdsClaims, signCdsToken } from "./support/keys.js";

const OPERATOR_TOKEN = "operator-token-for-tests-0123456789";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

function operatorApp(hash: string | undefined) {
  const app = express();
  const cfg = testConfig(hash === undefined ? {} : { OPERATOR_TOKEN_SHA256: hash });
  app.get("/alerts", requireOperator(cfg), (_req, res) => {
    res.json({ alerts: [] });
  });
  return app;
}

describe("operator token", () => {
  it("lets the right token through", async () => {
    const res = await request(operatorApp(sha256(OPERATOR_TOKEN)))
      .get("/alerts")
      .set("Authorization", `Bearer ${OPERATOR_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ alerts: [] });
  });

  it("accepts the hash written in upper case", async () => {
    const res = await request(operatorApp(sha256(OPERATOR_TOKEN).toUpperCase()))
      .get("/alerts")
      .set("Authorization", `Bearer ${OPERATOR_TOKEN}`);
    expect(res.status).toBe(200);
  });

  it("refuses a wrong token, a near miss and a missing token with 401 and an OperationOutcome", async () => {
    const app = operatorApp(sha256(OPERATOR_TOKEN));
    for (const header of [
      `Bearer wrong`,
      `Bearer ${OPERATOR_TOKEN}x`,
      `Basic ${OPERATOR_TOKEN}`,
      `Bearer ${sha256(OPERATOR_TOKEN)}`,
      undefined,
    ]) {
      const req = request(app).get("/alerts");
      const res = await (header === undefined ? req : req.set("Authorization", header));
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(res.body.resourceType).toBe("OperationOutcome");
      expect(res.body.issue[0].code).toBe("login");
      expect(JSON.stringify(res.body)).not.toContain(OPERATOR_TOKEN);
    }
  });

  it("keeps the operator API closed when no token hash is configured", async () => {
    const res = await request(operatorApp(undefined))
      .get("/alerts")
      .set("Authorization", "Bearer anything");
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe("OperationOutcome");
  });
});

describe("per-issuer rate limit", () => {
  const BASE = "https://cds.hospital.example";
  const PATH = "/cds-services/iguratimod-safety";
  const ISS_A = "https://ehr-a.example";
  const ISS_B = "https://ehr-b.example";
  const issuer = useSigningIssuer();

  function limitedApp(perMinute: number, now: () => number) {
    const config = testConfig({
      CDS_AUTH: "on",
      PUBLIC_BASE_URL: BASE,
      CDS_ISSUERS: JSON.stringify({
        [ISS_A]: { jwks_url: issuer.jwks.url() },
        [ISS_B]: { jwks_url: issuer.jwks.url() },
      }),
    });
    const seen = new Set<string>();
    const app = express();
    app.post(
      "/cds-services/:id",
      createCdsAuthCore({
        config,
        logger: createLogger(
          "silent",
          new Writable({
            write: (_c, _e, cb) => {
              cb();
            },
          }),
        ),
        rememberJti: (iss, jti) =>
          Promise.resolve(!seen.has(iss + jti) && Boolean(seen.add(iss + jti))),
      }),
      createIssuerRateLimit({ perMinute, now }),
      (_req, res) => {
        res.json({ cards: [] });
      },
    );
    return app;
  }

  const call = async (app: express.Express, iss: string) =>
    request(app)
      .post(PATH)
      .set("Authorization", `Bearer ${await signCdsToken(issuer.key, cdsClaims(iss, BASE + PATH))}`)
      .send({});

  it("answers 429 with an OperationOutcome and Retry-After past the limit, per issuer, and resets each minute", async () => {
    let clock = 60_000 * 1000 + 5_000;
    const app = limitedApp(3, () => clock);
    for (let i = 0; i < 3; i += 1) expect((await call(app, ISS_A)).status).toBe(200);
    const limited = await call(app, ISS_A);
    expect(limited.status).toBe(429);
    expect(limited.body.resourceType).toBe("OperationOutcome");
    expect(limited.body.issue[0].code).toBe("throttled");
    expect(Number(limited.headers["retry-after"])).toBe(55);
    // Another EHR is not starved by the first one.
    expect((await call(app, ISS_B)).status).toBe(200);
    clock += 60_000;
    expect((await call(app, ISS_A)).status).toBe(200);
  });

  it("counts refused tokens against no issuer: an unauthenticated flood cannot use an EHR's quota", async () => {
    const app = limitedApp(1, () => 0);
    for (let i = 0; i < 5; i += 1)
      expect((await request(app).post(PATH).send({})).status).toBe(401);
    expect((await call(app, ISS_A)).status).toBe(200);
  });

  it("does nothing when the limit is 0", async () => {
    const app = limitedApp(0, () => 0);
    for (let i = 0; i < 5; i += 1) expect((await call(app, ISS_A)).status).toBe(200);
  });
});

describe("request time limit", () => {
  it("answers 503 with an OperationOutcome when a handler outlives the limit, and aborts its signal", async () => {
    let aborted = false;
    const app = express();
    app.use(requestTimeLimit(200));
    app.get("/slow", (req, res) => {
      const timer = setTimeout(() => {
        if (!res.headersSent) res.json({ late: true });
      }, 1000);
      requestSignalOf(req)?.addEventListener("abort", () => {
        aborted = true;
        clearTimeout(timer);
      });
    });
    const started = Date.now();
    const res = await request(app).get("/slow");
    expect(res.status).toBe(503);
    expect(res.body.resourceType).toBe("OperationOutcome");
    expect(res.body.issue[0].code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(900);
    expect(aborted).toBe(true);
  });

  it("leaves fast answers alone", async () => {
    const app = express();
    app.use(requestTimeLimit(200));
    app.get("/fast", (_req, res) => {
      res.json({ ok: true });
    });
    expect((await request(app).get("/fast")).status).toBe(200);
  });
});
