/**
 * Operator token, the rate limit per client address (before authentication, with a counted
 * log) and the request time limit, each on a real express app over HTTP.
 */
import { createHash } from "node:crypto";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { testConfig } from "../src/config.js";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import { requireOperator } from "../src/http/operator-auth.js";
import { requestSignalOf, requestTimeLimit } from "../src/http/request-timeout.js";
import { useSigningIssuer } from "./support/jwks-server.js";
import { cdsClaims, signCdsToken } from "./support/keys.js";
import { captureLogs, protocolApp } from "./support/protocol-app.js";
import { TEST_SERVICE_ID } from "./support/test-service.js";

const OPERATOR_TOKEN = "operator-token-for-tests-0123456789";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

function operatorApp(hash: string | undefined, logger = captureLogs().logger) {
  const app = express();
  const cfg = testConfig(hash === undefined ? {} : { OPERATOR_TOKEN_SHA256: hash });
  app.get("/alerts", requireOperator(cfg, logger), (_req, res) => {
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

  it("logs refusals per reason, at most once a second with a count, never the token", async () => {
    const { logger, logs } = captureLogs();
    const app = operatorApp(sha256(OPERATOR_TOKEN), logger);
    const wrong = `${OPERATOR_TOKEN}-wrong`;
    for (let i = 0; i < 30; i += 1) {
      expect(
        (await request(app).get("/alerts").set("Authorization", `Bearer ${wrong}`)).status,
      ).toBe(401);
    }
    for (let i = 0; i < 5; i += 1) expect((await request(app).get("/alerts")).status).toBe(401);
    const refusals = () =>
      logs.lines
        .map((l) => JSON.parse(l) as { event?: string; reason?: string; count?: number })
        .filter((l) => l.event === "operator-auth-refused");
    // The first of each reason at once; the rest counted into one line per second.
    expect(
      refusals()
        .slice(0, 1)
        .map((l) => [l.reason, l.count]),
    ).toEqual([["wrong-token", 1]]);
    expect(refusals().filter((l) => l.reason === "no-token")[0]?.count).toBe(1);
    await new Promise((r) => setTimeout(r, 1200));
    const total = (reason: string) =>
      refusals()
        .filter((l) => l.reason === reason)
        .reduce((n, l) => n + (l.count ?? 0), 0);
    expect([total("wrong-token"), total("no-token")]).toEqual([30, 5]);
    // 35 refusals in a few lines (one a second per reason, plus the first of each).
    expect(refusals().length).toBeLessThanOrEqual(6);
    expect(logs.text()).not.toContain(wrong);
    expect(logs.text()).not.toContain(OPERATOR_TOKEN);
  });

  it("keeps the operator API closed when no token hash is configured", async () => {
    const res = await request(operatorApp(undefined))
      .get("/alerts")
      .set("Authorization", "Bearer anything");
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe("OperationOutcome");
  });
});

describe("rate limit per client address, before authentication", () => {
  const BASE = "https://cds.hospital.example";
  const PATH = `/cds-services/${TEST_SERVICE_ID}`;
  const ISS = "https://ehr-a.example";
  const issuer = useSigningIssuer();

  function limitedApp(perMinute: number, auth: "on" | "off") {
    const env = {
      CDS_AUTH: auth,
      PUBLIC_BASE_URL: BASE,
      RATE_LIMIT_PER_MINUTE: String(perMinute),
      CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: issuer.jwks.url() } }),
    };
    const authLogs = captureLogs();
    const seen = new Set<string>();
    const built = protocolApp({
      env,
      ...(auth === "on"
        ? {
            cdsAuth: createCdsAuthCore({
              config: testConfig(env),
              logger: authLogs.logger,
              rememberJti: (iss, jti) =>
                Promise.resolve(!seen.has(iss + jti) && Boolean(seen.add(iss + jti))),
            }),
          }
        : {}),
    });
    return { app: built.app, lines: () => [...built.logs.lines, ...authLogs.logs.lines] };
  }

  const signed = async (path = PATH) => signCdsToken(issuer.key, cdsClaims(ISS, BASE + path));

  it("with CDS_AUTH=off: 429 with an OperationOutcome and Retry-After past the limit; health is not limited", async () => {
    const { app } = limitedApp(3, "off");
    for (let i = 0; i < 3; i += 1)
      expect((await request(app).get("/cds-services")).status).toBe(200);
    const limited = await request(app).get("/cds-services");
    expect(limited.status).toBe(429);
    expect(limited.body.resourceType).toBe("OperationOutcome");
    expect(limited.body.issue[0].code).toBe("throttled");
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await request(app).get("/healthz")).status).toBe(200);
  });

  it("names the limit in RateLimit and RateLimit-Policy (IETF draft 8) on every counted answer", async () => {
    const { app } = limitedApp(3, "off");
    const first = await request(app).get("/cds-services");
    expect(first.status).toBe(200);
    expect(first.headers["ratelimit"]).toMatch(/^"3-in-1min"; r=2; t=(59|60)$/);
    expect(first.headers["ratelimit-policy"]).toMatch(
      /^"3-in-1min"; q=3; w=60; pk=:[A-Za-z0-9+/]+=*:$/,
    );
    const second = await request(app).get("/cds-services");
    expect(second.headers["ratelimit"]).toMatch(/^"3-in-1min"; r=1; t=(59|60)$/);
    expect(second.headers["ratelimit-policy"]).toBe(first.headers["ratelimit-policy"]);
    await request(app).get("/cds-services").expect(200);
    const limited = await request(app).get("/cds-services");
    expect(limited.status).toBe(429);
    expect(limited.headers["ratelimit"]).toMatch(/^"3-in-1min"; r=0; t=(59|60)$/);
    expect(limited.headers["ratelimit-policy"]).toBe(first.headers["ratelimit-policy"]);
    expect(limited.headers["retry-after"]).toMatch(/^(59|60)$/);
    // Health checks are not counted and carry no limit headers.
    const health = await request(app).get("/healthz");
    expect(health.headers["ratelimit"]).toBeUndefined();
  });

  it("with CDS_AUTH=on: requests without a valid token count too, and the limit answers before the JWT check", async () => {
    const { app } = limitedApp(3, "on");
    for (let i = 0; i < 3; i += 1)
      expect((await request(app).post(PATH).send({})).status).toBe(401);
    expect((await request(app).post(PATH).send({})).status).toBe(429);
    // The same address with a good token is over its limit as well.
    const good = await request(app)
      .post(PATH)
      .set("Authorization", `Bearer ${await signed()}`)
      .send({});
    expect(good.status).toBe(429);
  });

  it("behind TRUST_PROXY_HOPS=1 proxy, counts each X-Forwarded-For client apart; without it, one address", async () => {
    const behindProxy = protocolApp({
      env: { RATE_LIMIT_PER_MINUTE: "2", TRUST_PROXY_HOPS: "1" },
    }).app;
    const from = (ip: string) =>
      request(behindProxy).get("/cds-services").set("X-Forwarded-For", ip);
    expect((await from("203.0.113.7")).status).toBe(200);
    expect((await from("203.0.113.7")).status).toBe(200);
    expect((await from("203.0.113.7")).status).toBe(429);
    expect((await from("203.0.113.8")).status).toBe(200);
    // Without trusted proxies the header is ignored: a client cannot pick its own address.
    const { app: direct, logs } = protocolApp({ env: { RATE_LIMIT_PER_MINUTE: "2" } });
    const spoof = (ip: string) => request(direct).get("/cds-services").set("X-Forwarded-For", ip);
    expect((await spoof("198.51.100.1")).status).toBe(200);
    expect((await spoof("198.51.100.2")).status).toBe(200);
    expect((await spoof("198.51.100.3")).status).toBe(429);
    // The operator hears once that a proxy they did not declare is in front.
    const proxyLines = logs.lines.filter((l) => l.includes('"undeclared-proxy"'));
    expect(proxyLines).toHaveLength(1);
    expect(proxyLines[0]).toContain("TRUST_PROXY_HOPS is 0");
    expect(proxyLines[0]).not.toContain("198.51.100");
  });

  it("does nothing when the limit is 0", async () => {
    const { app } = limitedApp(0, "on");
    for (let i = 0; i < 5; i += 1) {
      const res = await request(app)
        .get("/cds-services")
        .set("Authorization", `Bearer ${await signed("/cds-services")}`);
      expect(res.status).toBe(200);
    }
  });

  it("logs refusals at most once per second per reason, with a count", async () => {
    const { app, lines } = limitedApp(20, "on");
    const answers: number[] = [];
    for (let i = 0; i < 60; i += 1) {
      const bad = i % 2 === 0 ? {} : { Authorization: "Bearer not.a.jwt" };
      answers.push((await request(app).get("/cds-services").set(bad)).status);
    }
    await new Promise((r) => setTimeout(r, 1300));
    const refusals = lines()
      .map((l) => JSON.parse(l) as { event?: string; reason?: string; count?: number })
      .filter((l) => l.event === "cds-auth-refused" || l.event === "rate-limited");
    const sum = (event: string, reason?: string) =>
      refusals
        .filter((l) => l.event === event && (reason === undefined || l.reason === reason))
        .reduce((n, l) => n + (l.count ?? 0), 0);
    expect(answers.filter((s) => s === 401)).toHaveLength(20);
    expect(answers.filter((s) => s === 429)).toHaveLength(40);
    expect(sum("cds-auth-refused", "no-token")).toBe(10);
    expect(sum("cds-auth-refused", "malformed")).toBe(10);
    expect(sum("rate-limited")).toBe(40);
    // Two reasons of refused tokens and one of the limit, each at most two lines in this run
    // (the first at once, the rest counted in one line a second later).
    expect(refusals.length).toBeLessThanOrEqual(6);
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
    // Before the handler's own answer at 1 s (which would have been a 200).
    expect(Date.now() - started).toBeLessThan(1000);
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
