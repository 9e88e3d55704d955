/**
 * Prefetch resolution against the real demo FHIR server (Medplum router) on a real port, loaded
 * with the study fixtures: absent keys are fetched (every `next` page followed), present and null
 * keys are not, a down server and a slow server answer 412 naming the key.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle } from "fhir/r4.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { studyPatientBundles } from "../fixtures/index.js";
import { protocolApp } from "./support/protocol-app.js";
import { testService, TEST_SERVICE_ID, type EchoExtension } from "./support/test-service.js";

const REF = new Date("2026-01-15T00:00:00Z");
const PATH = `/cds-services/${TEST_SERVICE_ID}`;
let fhir: RunningFhirServer;
let observationsOfPatient4 = 0;

beforeAll(async () => {
  fhir = await startFhirServer({ bundles: studyPatientBundles(REF) });
  const res = await fetch(`${fhir.url}/Observation?patient=kang-04&_count=1000`);
  observationsOfPatient4 = ((await res.json()) as Bundle).entry?.length ?? 0;
});
afterAll(async () => {
  await fhir.close();
});

function appFor(fhirUrl: string, env: Record<string, string> = {}) {
  return protocolApp({
    // The in-memory demo repository scans every resource per page: give it a wide budget.
    env: {
      FHIR_SERVER_ALLOWLIST: new URL(fhirUrl).origin,
      PREFETCH_BUDGET_MS: "20000",
      FHIR_TIMEOUT_MS: "20000",
      ...env,
    },
    services: [
      testService({
        prefetch: {
          patient: "Patient/{{context.patientId}}",
          // A small page size so that the search spans several pages.
          observations: "Observation?patient={{context.patientId}}&_count=25",
        },
        requiredPrefetch: ["patient", "observations"],
      }),
    ],
  }).app;
}

function hook(fhirUrl: string, prefetch?: Record<string, unknown>) {
  return {
    hook: "patient-view",
    hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    fhirServer: fhirUrl,
    fhirAuthorization: {
      access_token: "demo-token",
      token_type: "Bearer",
      expires_in: 300,
      scope: "user/*.read",
      subject: "ln-cds",
    },
    context: { userId: "Practitioner/u1", patientId: "kang-04" },
    ...(prefetch ? { prefetch } : {}),
  };
}

function echo(body: unknown): EchoExtension {
  const cards = (body as { cards: { extension: { "ln-cds-test": EchoExtension } }[] }).cards;
  expect(cards).toHaveLength(1);
  return cards[0]!.extension["ln-cds-test"];
}

describe("prefetch against the demo FHIR server", () => {
  it("fetches absent keys, following every next page", async () => {
    expect(observationsOfPatient4).toBeGreaterThan(10);
    fhir.stats.reset();
    const res = await request(appFor(fhir.url)).post(PATH).send(hook(fhir.url));
    expect(res.status).toBe(200);
    expect(echo(res.body).counts).toEqual({ patient: 1, observations: observationsOfPatient4 });
    const searches = fhir.stats.log.filter((l) => l.startsWith("GET /fhir/Observation"));
    expect(searches).toHaveLength(Math.ceil(observationsOfPatient4 / 25));
  });

  it("uses present and null keys as sent, without asking the server", async () => {
    fhir.stats.reset();
    const res = await request(appFor(fhir.url))
      .post(PATH)
      .send(
        hook(fhir.url, {
          patient: { resourceType: "Patient", id: "kang-04" },
          observations: null,
        }),
      );
    expect(res.status).toBe(200);
    expect(echo(res.body).counts).toEqual({ patient: 1, observations: 0 });
    expect(fhir.stats.requests).toBe(0);
  });

  it("re-fetches a key sent as an OperationOutcome", async () => {
    fhir.stats.reset();
    const failed = {
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "timeout" }],
    };
    const res = await request(appFor(fhir.url))
      .post(PATH)
      .send(
        hook(fhir.url, {
          patient: { resourceType: "Patient", id: "kang-04" },
          observations: failed,
        }),
      );
    expect(res.status).toBe(200);
    expect(echo(res.body).counts.observations).toBe(observationsOfPatient4);
    expect(fhir.stats.requests).toBeGreaterThan(0);
  });

  it("answers 412 naming the key when the FHIR server is down", async () => {
    const gone = await startFhirServer({ bundles: [] });
    const url = gone.url;
    await gone.close();
    const res = await request(appFor(url)).post(PATH).send(hook(url));
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe("OperationOutcome");
    expect(JSON.stringify(res.body)).toMatch(/patient|observations/);
  });

  it("honours the prefetch budget against a slow server", async () => {
    const delayMs = 3000;
    const slow = await startFhirServer({ bundles: studyPatientBundles(REF), delayMs });
    try {
      const t0 = Date.now();
      const res = await request(appFor(slow.url, { PREFETCH_BUDGET_MS: "500" }))
        .post(PATH)
        .send(hook(slow.url));
      const elapsed = Date.now() - t0;
      expect(res.status).toBe(412);
      // Ended by the budget, before the server's first answer would have come.
      expect(elapsed).toBeLessThan(delayMs);
    } finally {
      await slow.close();
    }
  });
});
