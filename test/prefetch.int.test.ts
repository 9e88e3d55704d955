/**
 * Prefetch resolution over real HTTP: the service (createApp on supertest) against a FHIR server
 * on a real port. The four states of a key, pagination, a server that is down, a server that is
 * not allow-listed (no connection made), and a slow server (time budget honoured).
 *
 * The FHIR server here is a small FHIR-like express app (Patient read, paged Observation search
 * with absolute `next` links), because the demo FHIR server (src/fhir-server) was not in the tree
 * when this was written; it records every request and connection so the tests can prove what
 * was and was not fetched.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle, Observation } from "fhir/r4.js";
import { lab } from "../fixtures/build.js";
import { protocolApp } from "./support/protocol-app.js";
import { TEST_SERVICE_ID, testService, type EchoExtension } from "./support/test-service.js";

const PATH = `/cds-services/${TEST_SERVICE_ID}`;
const PAGE_SIZE = 2;
const OBSERVATIONS = 5;

interface FhirLikeServer {
  url: string;
  readonly requests: { path: string; authorization?: string }[];
  connections: number;
  delayMs: number;
  /** This page of the Observation search is sent with `entry` as an object, not a list. */
  malformedPage?: number;
  close(): Promise<void>;
}

/** The i-th 24-hour urine protein result of patient p1. */
function observation(i: number): Observation {
  const spec = { id: `o${i}`, loinc: "2889-4", value: 1, unit: "g/(24.h)", at: "2026-01-01" };
  return lab({ ...spec, patientId: "p1" });
}

async function startFhirLikeServer(): Promise<FhirLikeServer> {
  const app = express();
  const state: FhirLikeServer = {
    url: "",
    requests: [],
    connections: 0,
    delayMs: 0,
    close: () => Promise.resolve(),
  };
  app.use((req, _res, next) => {
    state.requests.push({
      path: req.originalUrl,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    setTimeout(next, state.delayMs);
  });
  app.get("/fhir/Patient/:id", (req, res) => {
    if (req.params.id !== "p1") {
      res
        .status(404)
        .type("application/fhir+json")
        .send({
          resourceType: "OperationOutcome",
          issue: [{ severity: "error", code: "not-found" }],
        });
      return;
    }
    res
      .type("application/fhir+json")
      .send({ resourceType: "Patient", id: "p1", birthDate: "1990-01-01" });
  });
  app.get("/fhir/Observation", (req, res) => {
    const page = Number(req.query._page ?? "1");
    const all =
      req.query.patient === "p1"
        ? Array.from({ length: OBSERVATIONS }, (_, i) => observation(i + 1))
        : [];
    const slice = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const bundle: Bundle = {
      resourceType: "Bundle",
      type: "searchset",
      total: all.length,
      link: [{ relation: "self", url: `${state.url}/Observation?patient=p1&_page=${page}` }],
      entry: slice.map((r) => ({ fullUrl: `${state.url}/Observation/${r.id ?? ""}`, resource: r })),
    };
    if (page * PAGE_SIZE < all.length)
      bundle.link?.push({
        relation: "next",
        url: `${state.url}/Observation?patient=p1&_page=${page + 1}`,
      });
    if (page === state.malformedPage) {
      res.type("application/fhir+json").send({ ...bundle, entry: bundle.entry?.[0] });
      return;
    }
    res.type("application/fhir+json").send(bundle);
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("connection", () => {
    state.connections += 1;
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return state;
}

let fhir: FhirLikeServer;
beforeAll(async () => {
  fhir = await startFhirLikeServer();
});
afterAll(async () => {
  await fhir.close();
});

const originOf = (url: string): string => new URL(url).origin;
const AUTH = {
  access_token: "fhir-token-123",
  token_type: "Bearer",
  expires_in: 300,
  scope: "user/*.read",
  subject: "ln-cds",
};

function hookRequest(
  prefetch: Record<string, unknown> | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    hook: "patient-view",
    hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    fhirServer: fhir.url,
    fhirAuthorization: AUTH,
    context: { userId: "Practitioner/u1", patientId: "p1" },
    ...(prefetch !== undefined ? { prefetch } : {}),
    ...extra,
  };
}

function echoOf(body: unknown): EchoExtension {
  const cards = (body as { cards: { extension: { "ln-cds-test": EchoExtension } }[] }).cards;
  expect(cards).toHaveLength(1);
  const ext = cards[0]?.extension["ln-cds-test"];
  if (ext === undefined) throw new Error("no echo extension");
  return ext;
}

const PATIENT = { resourceType: "Patient", id: "p1" };
const firstPage = (withNext: boolean): Bundle => ({
  resourceType: "Bundle",
  type: "searchset",
  entry: [{ resource: observation(1) }, { resource: observation(2) }],
  ...(withNext
    ? { link: [{ relation: "next", url: `${fhir.url}/Observation?patient=p1&_page=2` }] }
    : {}),
});

describe("the four states of a prefetch key", () => {
  const app = () => protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) } }).app;

  it("present: used as sent, nothing fetched", async () => {
    fhir.requests.length = 0;
    const res = await request(app())
      .post(PATH)
      .send(hookRequest({ patient: PATIENT, observations: firstPage(false) }))
      .expect(200);
    expect(echoOf(res.body).counts).toEqual({ patient: 1, observations: 2 });
    expect(fhir.requests).toEqual([]);
  });

  it("null: no data, nothing fetched", async () => {
    fhir.requests.length = 0;
    const res = await request(app())
      .post(PATH)
      .send(hookRequest({ patient: PATIENT, observations: null }))
      .expect(200);
    expect(echoOf(res.body).counts).toEqual({ patient: 1, observations: 0 });
    expect(fhir.requests).toEqual([]);
  });

  it("an OperationOutcome: the client's fetch failed, so the key is fetched (every page) with the token", async () => {
    fhir.requests.length = 0;
    const failed = {
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "timeout" }],
    };
    const res = await request(app())
      .post(PATH)
      .send(hookRequest({ patient: PATIENT, observations: failed }))
      .expect(200);
    expect(echoOf(res.body).counts).toEqual({ patient: 1, observations: OBSERVATIONS });
    expect(fhir.requests.map((r) => r.path)).toEqual([
      "/fhir/Observation?patient=p1",
      "/fhir/Observation?patient=p1&_page=2",
      "/fhir/Observation?patient=p1&_page=3",
    ]);
    expect(fhir.requests.every((r) => r.authorization === "Bearer fhir-token-123")).toBe(true);
  });

  it("absent: the key is fetched (a read template gives one resource)", async () => {
    fhir.requests.length = 0;
    const res = await request(app()).post(PATH).send(hookRequest(undefined)).expect(200);
    expect(echoOf(res.body).counts).toEqual({ patient: 1, observations: OBSERVATIONS });
    expect(fhir.requests.map((r) => r.path)).toContain("/fhir/Patient/p1");
  });

  it("without fhirAuthorization the allow-listed server is called with no token", async () => {
    fhir.requests.length = 0;
    const res = await request(app())
      .post(PATH)
      .send(hookRequest(undefined, { fhirAuthorization: undefined }))
      .expect(200);
    expect(echoOf(res.body).counts.patient).toBe(1);
    expect(fhir.requests.length).toBeGreaterThan(0);
    expect(fhir.requests.every((r) => r.authorization === undefined)).toBe(true);
  });
});

describe("pagination", () => {
  it("a paginated Bundle sent in prefetch has its next pages followed", async () => {
    const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) } });
    fhir.requests.length = 0;
    const res = await request(app)
      .post(PATH)
      .send(hookRequest({ patient: PATIENT, observations: firstPage(true) }))
      .expect(200);
    const echo = echoOf(res.body);
    expect(echo.counts.observations).toBe(OBSERVATIONS);
    expect(echo.incomplete).toBeUndefined();
    expect(fhir.requests.map((r) => r.path)).toEqual([
      "/fhir/Observation?patient=p1&_page=2",
      "/fhir/Observation?patient=p1&_page=3",
    ]);
  });

  it("paging stops at PREFETCH_MAX_PAGES and the key is reported incomplete", async () => {
    const { app } = protocolApp({
      env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url), PREFETCH_MAX_PAGES: "2" },
    });
    const res = await request(app)
      .post(PATH)
      .send(hookRequest({ patient: PATIENT }))
      .expect(200);
    const echo = echoOf(res.body);
    expect(echo.counts.observations).toBe(4);
    expect(echo.incomplete).toEqual(["observations"]);
  });

  it("paging stops at PREFETCH_MAX_RESOURCES", async () => {
    const { app } = protocolApp({
      env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url), PREFETCH_MAX_RESOURCES: "3" },
    });
    const res = await request(app)
      .post(PATH)
      .send(hookRequest({ patient: PATIENT }))
      .expect(200);
    const echo = echoOf(res.body);
    expect(echo.counts.observations).toBe(3);
    expect(echo.incomplete).toEqual(["observations"]);
  });
});

describe("when data cannot be had", () => {
  it("412 naming the required key when the FHIR server is down", async () => {
    const down = await startFhirLikeServer();
    const url = down.url;
    await down.close();
    const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(url) } });
    const res = await request(app)
      .post(PATH)
      .send(hookRequest({ observations: null }, { fhirServer: url }))
      .expect(412);
    expect(res.body).toMatchObject({
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", expression: ["prefetch.patient"] }],
    });
    expect((res.body as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toContain(
      '"patient"',
    );
  });

  it("an optional key the down server cannot give is reported unavailable, and the service still answers", async () => {
    const down = await startFhirLikeServer();
    const url = down.url;
    await down.close();
    const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(url) } });
    const res = await request(app)
      .post(PATH)
      .send(hookRequest({ patient: PATIENT }, { fhirServer: url }))
      .expect(200);
    expect(echoOf(res.body).unavailable).toEqual(["observations"]);
  });

  it("a Bundle page whose entry is not a list makes its key unavailable: no page of it is used, no later page read", async () => {
    const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) } });
    try {
      for (const malformedPage of [1, 2]) {
        fhir.malformedPage = malformedPage;
        fhir.requests.length = 0;
        const res = await request(app)
          .post(PATH)
          .send(hookRequest({ patient: PATIENT }))
          .expect(200);
        const echo = echoOf(res.body);
        expect(echo.unavailable).toEqual(["observations"]);
        expect(echo.counts.observations).toBe(0);
        expect(fhir.requests.map((r) => r.path)).toEqual(
          ["/fhir/Observation?patient=p1", "/fhir/Observation?patient=p1&_page=2"].slice(
            0,
            malformedPage,
          ),
        );
      }
      // A required key sent that way is a 412 that says what the server sent.
      const strict = protocolApp({
        env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) },
        services: [testService({ requiredPrefetch: ["patient", "observations"] })],
      }).app;
      const refused = await request(strict)
        .post(PATH)
        .send(hookRequest({ patient: PATIENT }))
        .expect(412);
      const issue = (refused.body as { issue: { diagnostics: string; expression: string[] }[] })
        .issue[0];
      expect(issue?.expression).toEqual(["prefetch.observations"]);
      expect(issue?.diagnostics).toContain("the FHIR server sent");
    } finally {
      fhir.malformedPage = undefined;
    }
  });

  it("412 when fhirServer is not on the allow-list, and no connection reaches it", async () => {
    const other = await startFhirLikeServer();
    try {
      const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) } });
      const res = await request(app)
        .post(PATH)
        .send(hookRequest(undefined, { fhirServer: other.url }))
        .expect(412);
      expect((res.body as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toContain(
        "allow-list",
      );
      expect(other.connections).toBe(0);
      expect(other.requests).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("412 when no fhirServer is given and a required key is absent", async () => {
    const { app } = protocolApp({ env: { FHIR_SERVER_ALLOWLIST: originOf(fhir.url) } });
    const body = hookRequest(
      { observations: null },
      { fhirServer: undefined, fhirAuthorization: undefined },
    );
    const res = await request(app).post(PATH).send(body).expect(412);
    expect((res.body as { issue: { expression: string[] }[] }).issue[0]?.expression).toEqual([
      "prefetch.patient",
    ]);
  });

  it("a slow server: the prefetch budget is honoured (412 well before the server would answer)", async () => {
    const slow = await startFhirLikeServer();
    slow.delayMs = 3000;
    try {
      const { app } = protocolApp({
        env: {
          FHIR_SERVER_ALLOWLIST: originOf(slow.url),
          PREFETCH_BUDGET_MS: "300",
          FHIR_TIMEOUT_MS: "10000",
        },
      });
      const started = Date.now();
      const res = await request(app)
        .post(PATH)
        .send(hookRequest({ observations: null }, { fhirServer: slow.url }))
        .expect(412);
      const elapsed = Date.now() - started;
      // Not before the budget, and ended by it: before the server would have answered.
      expect(elapsed).toBeGreaterThanOrEqual(280);
      expect(elapsed).toBeLessThan(slow.delayMs);
      expect((res.body as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toContain(
        "budget",
      );
    } finally {
      await slow.close();
    }
  });
});
