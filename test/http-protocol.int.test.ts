/**
 * The CDS Hooks 2.0 protocol over real HTTP (supertest on an ephemeral port): discovery, bad
 * requests (each a 400 OperationOutcome naming the problem), 404/413/415, real-client leniency,
 * response checks, security headers, CORS and request logs.
 */
import request from "supertest";
import { describe, expect, it } from "vitest";
import type { OperationOutcome } from "fhir/r4.js";
import { randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { draftIguratimodOrder } from "../fixtures/build.js";
import { protocolApp } from "./support/protocol-app.js";
import { TEST_SERVICE_ID, testService } from "./support/test-service.js";
import { discoveryResponseSchema } from "../src/hooks/schemas.js";
import { createAppServer } from "../src/http/server.js";

/** The access-log line of the request among captured JSON log lines. */
function requestLogLine(lines: readonly string[]): Record<string, unknown> | undefined {
  return lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === "request");
}

const PATH = `/cds-services/${TEST_SERVICE_ID}`;
const HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";
const PATIENT = { resourceType: "Patient", id: "p1", birthDate: "1990-01-01" };

function patientView(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: "patient-view",
    hookInstance: HOOK_INSTANCE,
    context: { userId: "Practitioner/u1", patientId: "p1" },
    prefetch: { patient: PATIENT, observations: null },
    ...extra,
  };
}

function orderSign(draft: Record<string, unknown>, hook = "order-sign"): Record<string, unknown> {
  return {
    hook,
    hookInstance: HOOK_INSTANCE,
    context: {
      userId: "Practitioner/u1",
      patientId: "p1",
      ...(hook === "order-select" ? { selections: ["MedicationRequest/d1"] } : {}),
      draftOrders: { resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] },
    },
    prefetch: { patient: PATIENT, observations: null },
  };
}

function expectOutcome(body: unknown): OperationOutcome {
  const outcome = body as OperationOutcome;
  expect(outcome.resourceType).toBe("OperationOutcome");
  expect(outcome.issue.length).toBeGreaterThan(0);
  expect(JSON.stringify(outcome)).not.toMatch(/\bat .*\.(ts|js):\d+/); // never a stack trace
  return outcome;
}

describe("discovery", () => {
  const { app } = protocolApp({
    services: [
      testService(),
      testService({
        id: "patient-only",
        hooks: ["patient-view"],
        prefetch: {},
        requiredPrefetch: [],
      }),
    ],
  });

  it("lists one entry per service and hook, with id, title, description and prefetch", async () => {
    const res = await request(app).get("/cds-services").expect(200);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    const { services } = discoveryResponseSchema.parse(res.body);
    expect(services).toHaveLength(4);
    expect(services.find((s) => s.id === "patient-only")).not.toHaveProperty("prefetch");
    expect(services.find((s) => s.id === TEST_SERVICE_ID)?.prefetch).toEqual({
      patient: "Patient/{{context.patientId}}",
      observations: "Observation?patient={{context.patientId}}",
    });
  });

  it("lists the same id under two hooks", async () => {
    const res = await request(app).get("/cds-services").expect(200);
    const hooks = (res.body as { services: { id: string; hook: string }[] }).services
      .filter((s) => s.id === TEST_SERVICE_ID)
      .map((s) => s.hook);
    expect(hooks).toEqual(expect.arrayContaining(["order-select", "order-sign"]));
  });
});

describe("bad requests answer 400 with an OperationOutcome naming the problem", () => {
  const { app } = protocolApp();
  const auth = {
    access_token: "t0ken",
    token_type: "Bearer",
    expires_in: 300,
    scope: "user/Patient.read",
    subject: "cds",
  };
  const ctx = { userId: "Practitioner/u1", patientId: "p1" };
  const med = { ...draftIguratimodOrder("p1", undefined, { id: "d1" }) };

  const cases: [string, unknown, string][] = [
    ["a body that is not JSON", '{"hook":', "JSON"],
    ["a JSON array", [], "JSON object"],
    ["a JSON string", "just text", "JSON object"],
    ["a missing hook", { hookInstance: HOOK_INSTANCE, context: ctx }, "hook"],
    ["a hook that is a number", { hook: 7, hookInstance: HOOK_INSTANCE, context: ctx }, "hook"],
    ["an empty hook", { hook: "", hookInstance: HOOK_INSTANCE, context: ctx }, "hook"],
    [
      "a hook this service does not serve",
      { hook: "encounter-start", hookInstance: HOOK_INSTANCE, context: ctx },
      "hook",
    ],
    ["a missing hookInstance", { hook: "patient-view", context: ctx }, "hookInstance"],
    [
      "a hookInstance that is a number",
      { hook: "patient-view", hookInstance: 42, context: ctx },
      "hookInstance",
    ],
    [
      "a hookInstance with spaces",
      { hook: "patient-view", hookInstance: "not a uuid", context: ctx },
      "hookInstance",
    ],
    ["a fhirServer that is not a URL", patientView({ fhirServer: "fhir here" }), "fhirServer"],
    [
      "a fhirServer that is not http(s)",
      patientView({ fhirServer: "ftp://fhir.example.org" }),
      "fhirServer",
    ],
    [
      "fhirAuthorization without fhirServer",
      patientView({ fhirAuthorization: auth }),
      "fhirServer",
    ],
    [
      "a token_type other than Bearer",
      patientView({
        fhirServer: "http://f.example.org",
        fhirAuthorization: { ...auth, token_type: "MAC" },
      }),
      "fhirAuthorization.token_type",
    ],
    [
      "fhirAuthorization without access_token",
      patientView({
        fhirServer: "http://f.example.org",
        fhirAuthorization: { ...auth, access_token: undefined },
      }),
      "fhirAuthorization.access_token",
    ],
    [
      "expires_in as a string",
      patientView({
        fhirServer: "http://f.example.org",
        fhirAuthorization: { ...auth, expires_in: "300" },
      }),
      "fhirAuthorization.expires_in",
    ],
    ["a missing context", { hook: "patient-view", hookInstance: HOOK_INSTANCE }, "context"],
    [
      "a context that is an array",
      { hook: "patient-view", hookInstance: HOOK_INSTANCE, context: [] },
      "context",
    ],
    [
      "a patientId that is a number",
      patientView({ context: { userId: "Practitioner/u1", patientId: 1 } }),
      "context.patientId",
    ],
    [
      "a patientId that is a reference, not an id",
      patientView({ context: { userId: "Practitioner/u1", patientId: "Patient/p1" } }),
      "context.patientId",
    ],
    ["a context without userId", patientView({ context: { patientId: "p1" } }), "context.userId"],
    [
      "a userId of a Device",
      patientView({ context: { userId: "Device/d1", patientId: "p1" } }),
      "context.userId",
    ],
    [
      "an encounterId that is a number",
      patientView({ context: { ...ctx, encounterId: 5 } }),
      "context.encounterId",
    ],
    ["prefetch that is an array", patientView({ prefetch: [PATIENT] }), "prefetch"],
    ["prefetch that is a string", patientView({ prefetch: "patient" }), "prefetch"],
    [
      "order-sign without draftOrders",
      { hook: "order-sign", hookInstance: HOOK_INSTANCE, context: ctx },
      "context.draftOrders",
    ],
    [
      "draftOrders that is not a Bundle",
      { hook: "order-sign", hookInstance: HOOK_INSTANCE, context: { ...ctx, draftOrders: med } },
      "context.draftOrders.resourceType",
    ],
    [
      "order-select without selections",
      {
        ...orderSign(med, "order-select"),
        context: { ...ctx, draftOrders: { resourceType: "Bundle" } },
      },
      "context.selections",
    ],
    [
      "a draft MedicationRequest whose intent is a number",
      orderSign({ ...med, intent: 1 }),
      "context.draftOrders.entry[0].resource.intent",
    ],
    [
      "a draft entry whose resource has no resourceType",
      orderSign({ id: "x" }),
      "context.draftOrders.entry[0].resource.resourceType",
    ],
    [
      "a body nested 1000 levels deep",
      JSON.parse("[".repeat(1000) + "]".repeat(1000)) as unknown,
      "nests",
    ],
  ];

  it("has at least 20 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)("%s", async (_name, body, named) => {
    const raw = typeof body === "string" && body.startsWith("{") ? body : JSON.stringify(body);
    const res = await request(app).post(PATH).set("Content-Type", "application/json").send(raw);
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/application\/fhir\+json/);
    const outcome = expectOutcome(res.body);
    const said = outcome.issue
      .map((i) => `${(i.expression ?? []).join(" ")} ${i.diagnostics ?? ""}`)
      .join(" | ");
    expect(said).toContain(named);
  });
});

describe("other refusals", () => {
  const { app } = protocolApp({
    services: [testService(), testService({ id: "patient-only", hooks: ["patient-view"] })],
  });

  it("404 OperationOutcome for an unknown service id", async () => {
    const res = await request(app)
      .post("/cds-services/no-such-service")
      .send(patientView())
      .expect(404);
    expect(expectOutcome(res.body).issue[0]?.code).toBe("not-found");
  });

  it("404 for an unknown service id whatever the body: not JSON, malformed JSON, not an object", async () => {
    for (const [type, body] of [
      ["text/plain", "hello"],
      ["application/json", '{"hook": '],
      ["application/json", "[1, 2]"],
    ] as const) {
      for (const path of [
        "/cds-services/no-such-service",
        "/cds-services/no-such-service/feedback",
      ]) {
        const res = await request(app).post(path).set("Content-Type", type).send(body);
        expect(res.status, `${path} ${type} ${body}`).toBe(404);
        expect(expectOutcome(res.body).issue[0]?.code).toBe("not-found");
      }
    }
  });

  it("404 OperationOutcome for feedback to an unknown service id", async () => {
    const res = await request(app)
      .post("/cds-services/no-such-service/feedback")
      .send({ feedback: [] })
      .expect(404);
    expectOutcome(res.body);
  });

  it("404 OperationOutcome for an unknown path", async () => {
    const res = await request(app).get("/nowhere").expect(404);
    expectOutcome(res.body);
  });

  it("400 for a hook the id does not serve (order-sign to a patient-view service)", async () => {
    const res = await request(app)
      .post("/cds-services/patient-only")
      .send(orderSign({ ...draftIguratimodOrder("p1") }))
      .expect(400);
    expect(expectOutcome(res.body).issue[0]?.diagnostics).toContain("does not serve the hook");
  });

  it("413 OperationOutcome for a body over 1 MB", async () => {
    const big = patientView({ extension: { pad: "x".repeat(1_100_000) } });
    const res = await request(app)
      .post(PATH)
      .set("Content-Type", "application/json")
      .send(JSON.stringify(big));
    expect(res.status).toBe(413);
    expectOutcome(res.body);
  });

  it("415 OperationOutcome for a body that is not JSON", async () => {
    const res = await request(app)
      .post(PATH)
      .set("Content-Type", "text/plain")
      .send("hook=patient-view");
    expect(res.status).toBe(415);
    expect(expectOutcome(res.body).issue[0]?.code).toBe("not-supported");
  });

  it("415 for a form-encoded body", async () => {
    const res = await request(app).post(PATH).type("form").send({ hook: "patient-view" });
    expect(res.status).toBe(415);
    expectOutcome(res.body);
  });

  it("a service that throws gives a 500 OperationOutcome 'internal error', no stack, logged", async () => {
    const { app: failing, logs } = protocolApp({
      services: [
        testService({
          cards: () => {
            throw new Error("boom in service");
          },
        }),
      ],
    });
    const res = await request(failing).post(PATH).send(patientView()).expect(500);
    const outcome = expectOutcome(res.body);
    expect(outcome.issue[0]?.diagnostics).toBe("internal error");
    expect(res.text).not.toContain("boom");
    expect(logs.text()).toContain("boom in service");
  });
});

describe("real clients are served", () => {
  const { app, logs } = protocolApp();

  it("answers a patient-view with prefetch and without fhirAuthorization", async () => {
    const res = await request(app).post(PATH).send(patientView()).expect(200);
    const body = res.body as {
      cards: { extension: { "ln-cds-test": { counts: Record<string, number> } } }[];
    };
    expect(body.cards).toHaveLength(1);
    expect(body.cards[0]?.extension["ln-cds-test"].counts).toEqual({ patient: 1, observations: 0 });
  });

  it("answers the official patient-view request example (extension, fhirAuthorization, prefetch)", async () => {
    const res = await request(app)
      .post(PATH)
      .send({
        ...patientView(),
        fhirServer: "http://hooks.smarthealthit.org:9080",
        fhirAuthorization: {
          access_token: "some-opaque-fhir-access-token",
          token_type: "Bearer",
          expires_in: 300,
          scope: "user/Patient.read",
          subject: "cds-service4",
        },
        extension: { "com.example.timestamp": "2017-11-27T22:13:25Z" },
      })
      .expect(200);
    expect((res.body as { cards: unknown[] }).cards).toHaveLength(1);
  });

  it("answers {cards: []} to order-select on an empty draft (no medication, no intent)", async () => {
    const res = await request(app)
      .post(PATH)
      .send({
        ...orderSign(
          { resourceType: "MedicationRequest", id: "d1", status: "draft" },
          "order-select",
        ),
        prefetch: undefined,
      })
      .expect(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it("accepts an order-sign draft with category and reasonCode as single objects (not quite R4)", async () => {
    const draft = {
      ...draftIguratimodOrder("p1", undefined, { id: "d1" }),
      category: { text: "outpatient" },
      reasonCode: { text: "lupus nephritis" },
      dosageInstruction: { text: "25 mg twice daily" },
    };
    const res = await request(app).post(PATH).send(orderSign(draft)).expect(200);
    expect(
      (res.body as { cards: { extension: { "ln-cds-test": { hook: string } } }[] }).cards[0]
        ?.extension["ln-cds-test"].hook,
    ).toBe("order-sign");
  });

  it("accepts application/fhir+json bodies", async () => {
    await request(app)
      .post(PATH)
      .set("Content-Type", "application/fhir+json")
      .send(JSON.stringify(patientView()))
      .expect(200);
  });

  it("logs serviceId, hook, hookInstance, durationMs and status, and no token or patient data", async () => {
    logs.lines.length = 0;
    await request(app)
      .post(PATH)
      .send({
        ...patientView(),
        fhirServer: "http://fhir.example.org",
        fhirAuthorization: {
          access_token: "SECRET-ACCESS-TOKEN",
          token_type: "Bearer",
          expires_in: 300,
          scope: "s",
          subject: "c",
        },
        prefetch: {
          patient: { ...PATIENT, name: [{ family: "Zhangsan-Unique" }] },
          observations: null,
        },
      })
      .set("Authorization", "Bearer SECRET-JWT")
      .expect(200);
    const requestLine = requestLogLine(logs.lines);
    expect(requestLine).toMatchObject({
      serviceId: TEST_SERVICE_ID,
      hook: "patient-view",
      hookInstance: HOOK_INSTANCE,
      status: 200,
    });
    expect(typeof requestLine?.durationMs).toBe("number");
    const text = logs.text();
    expect(text).not.toContain("SECRET-ACCESS-TOKEN");
    expect(text).not.toContain("SECRET-JWT");
    expect(text).not.toContain("Zhangsan-Unique");
    expect(text).not.toContain("1990-01-01");
  });

  it("names the hook and hookInstance in the log of a call refused for its context", async () => {
    logs.lines.length = 0;
    await request(app)
      .post(PATH)
      .send({ ...patientView(), context: { userId: "nobody", patientId: "p1" } })
      .expect(400);
    const requestLine = requestLogLine(logs.lines);
    expect(requestLine).toMatchObject({
      serviceId: TEST_SERVICE_ID,
      hook: "patient-view",
      hookInstance: HOOK_INSTANCE,
      status: 400,
    });
  });
});

describe("response checks run on every service response", () => {
  const badCard = () => [
    {
      uuid: randomUUID(),
      summary: "fine",
      indicator: "info" as const,
      source: { label: "ln-cds" },
    },
    {
      uuid: randomUUID(),
      summary: "y".repeat(140),
      indicator: "info" as const,
      source: { label: "ln-cds" },
    },
  ];

  it("in production an invalid card is dropped and logged, and the response still goes out", async () => {
    const { app, logs } = protocolApp({
      env: { NODE_ENV: "production" },
      services: [testService({ cards: badCard })],
    });
    const res = await request(app).post(PATH).send(patientView()).expect(200);
    expect((res.body as { cards: { summary: string }[] }).cards.map((c) => c.summary)).toEqual([
      "fine",
    ]);
    expect(logs.text()).toContain("summary-length");
  });

  it("in tests an invalid card fails the request loudly (500)", async () => {
    const { app, logs } = protocolApp({ services: [testService({ cards: badCard })] });
    await request(app).post(PATH).send(patientView()).expect(500);
    expect(logs.text()).toContain("InvalidCdsResponseError");
  });
});

describe("headers", () => {
  const { app, logs } = protocolApp({ env: { CORS_ORIGINS: "https://ehr.example.org" } });

  it("sets security headers, no X-Powered-By, and Cache-Control no-store on hook responses", async () => {
    const res = await request(app).post(PATH).send(patientView()).expect(200);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["x-powered-by"]).toBeUndefined();
  });

  it("preflight from an allowed origin succeeds for POST with Authorization, Content-Type and Accept", async () => {
    const res = await request(app)
      .options(PATH)
      .set("Origin", "https://ehr.example.org")
      .set("Access-Control-Request-Method", "POST")
      .set("Access-Control-Request-Headers", "authorization, content-type, accept");
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("https://ehr.example.org");
    expect(res.headers["access-control-allow-methods"]).toContain("POST");
    expect(res.headers["access-control-allow-methods"]).toContain("GET");
    expect(res.headers["access-control-allow-headers"]).toMatch(
      /Authorization.*Content-Type.*Accept/,
    );
  });

  it("an allowed origin's actual request carries Access-Control-Allow-Origin", async () => {
    const res = await request(app)
      .get("/cds-services")
      .set("Origin", "https://ehr.example.org")
      .expect(200);
    expect(res.headers["access-control-allow-origin"]).toBe("https://ehr.example.org");
  });

  it("preflight from a refused origin gets no Access-Control-Allow-Origin", async () => {
    const res = await request(app)
      .options(PATH)
      .set("Origin", "https://evil.example.com")
      .set("Access-Control-Request-Method", "POST");
    expect(res.status).toBe(403);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    const get = await request(app).get("/cds-services").set("Origin", "https://evil.example.com");
    expect(get.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("logs every preflight, allowed or refused, with its origin and status", async () => {
    for (const [origin, status] of [
      ["https://ehr.example.org", 204],
      ["https://other.example.com", 403],
    ] as const) {
      logs.lines.length = 0;
      await request(app)
        .options(PATH)
        .set("Origin", origin)
        .set("Access-Control-Request-Method", "POST")
        .expect(status);
      const lines = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l.msg === "request")).toEqual([
        expect.objectContaining({ method: "OPTIONS", status, preflight: true, origin }),
      ]);
    }
  });

  it("allows every origin when built for the demo (corsAnyOrigin), whatever CORS_ORIGINS says", async () => {
    const demo = protocolApp({
      env: { CORS_ORIGINS: "https://ehr.example.org" },
      corsAnyOrigin: true,
    });
    const res = await request(demo.app)
      .options(PATH)
      .set("Origin", "http://localhost:18699")
      .set("Access-Control-Request-Method", "POST")
      .set("Access-Control-Request-Headers", "authorization, content-type, accept");
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    const post = await request(demo.app)
      .post(PATH)
      .set("Origin", "http://localhost:18699")
      .send(patientView())
      .expect(200);
    expect(post.headers["access-control-allow-origin"]).toBe("*");
  });
});

describe("health", () => {
  it("/healthz answers 200", async () => {
    const { app } = protocolApp();
    await request(app).get("/healthz").expect(200, { status: "ok" });
  });

  it("answers GET and HEAD only; another method is an unknown endpoint (404 OperationOutcome)", async () => {
    const { app } = protocolApp();
    await request(app).head("/healthz").expect(200);
    await request(app).head("/readyz").expect(200);
    for (const path of ["/healthz", "/readyz"]) {
      const res = await request(app).post(path).send({}).expect(404);
      expectOutcome(res.body);
    }
  });

  it("/readyz answers 200 when the database answers, 503 OperationOutcome when not", async () => {
    await request(protocolApp().app).get("/readyz").expect(200);
    const down = protocolApp({ store: { ping: () => Promise.reject(new Error("db down")) } });
    const res = await request(down.app).get("/readyz").expect(503);
    expectOutcome(res.body);
  });
});

describe("the answer on the wire", () => {
  it("is UTF-8 JSON whose Content-Length counts its bytes, non-Latin-1 text included", async () => {
    const summary = "Hb 78 g/L ≤ 80 → grade 3 — 艾拉莫德";
    const detail = "Creatinine 88 µmol/L; eGFR ≥ 60 mL/min/1.73 m² ± 5";
    const { app } = protocolApp({
      services: [
        testService({
          cards: () => [
            {
              uuid: randomUUID(),
              summary,
              detail,
              indicator: "warning",
              source: { label: "ln-cds test" },
            },
          ],
        }),
      ],
    });
    // The production server (src/http/server.ts), read byte for byte with node:http.
    const server = createAppServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = JSON.stringify({
        hook: "patient-view",
        hookInstance: randomUUID(),
        context: { userId: "Practitioner/u1", patientId: "p1" },
        prefetch: { patient: PATIENT, observations: null },
      });
      const { headers, bytes } = await new Promise<{
        headers: IncomingHttpHeaders;
        bytes: Buffer;
      }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: `/cds-services/${TEST_SERVICE_ID}`,
            headers: { "content-type": "application/json" },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              resolve({ headers: res.headers, bytes: Buffer.concat(chunks) });
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      expect(headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(headers["cache-control"]).toBe("no-store");
      expect(Number(headers["content-length"])).toBe(bytes.length);
      const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      expect(text.length).toBeLessThan(bytes.length); // multi-byte characters were sent
      const answer = JSON.parse(text) as { cards: { summary: string; detail: string }[] };
      expect(answer.cards).toHaveLength(1);
      expect(answer.cards[0]?.summary).toBe(summary);
      expect(answer.cards[0]?.detail).toBe(detail);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
