/**
 * Property-based hostile input (docs/cds-contract.md#requests-and-errors): ≥ 10,000 generated bodies POSTed over real HTTP to
 * `POST /cds-services/{id}`. Every answer must be 2xx, or 4xx with an OperationOutcome body;
 * never 5xx, never a dropped connection, and the process keeps serving afterwards.
 * About a third of the bodies are valid patient-view requests carrying hostile lab values, so
 * the real iguratimod-safety service (normaliser and rules) answers them: each 200 must be a
 * valid CDS Hooks response. The status histogram is printed for the closing note.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type express from "express";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { protocolApp } from "./support/protocol-app.js";

/**
 * The real app (createApp, real body parser, schemas, prefetch and response checks) with the
 * real services; bodies go to iguratimod-safety, whose rules read every hostile lab value.
 * The app's clock is 2026-01-15T10:00Z (protocolApp).
 */
function fuzzTarget(): Promise<{ app: express.Express; path: string }> {
  const { app } = protocolApp({ services: defaultServices(testConfig({})) });
  return Promise.resolve({ app, path: "/cds-services/iguratimod-safety" });
}

const RUNS = 10_000;

let server: Server;
let base: string;
let path: string;

beforeAll(async () => {
  const target = await fuzzTarget();
  path = target.path;
  server = target.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) =>
    server.once("listening", () => {
      resolve();
    }),
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});

/** Keys an attacker would use, mixed into every generated object. */
const hostileKey = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "hasOwnProperty",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "resourceType",
      "id",
      "value",
      "valueQuantity",
      "code",
      "status",
      "entry",
    ),
  },
);

const anyValue = fc.anything({
  key: hostileKey,
  maxDepth: 4,
  maxKeys: 6,
  withBigInt: false,
  withBoxedValues: false,
  withDate: false,
  withMap: false,
  withSet: false,
  withTypedArray: false,
  withSparseArray: false,
  withNullPrototype: true,
});

const absurdNumber = fc.oneof(
  fc.constantFrom(-1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const absurdDate = fc.constantFrom(
  "0000-01-01",
  "9999-12-31T23:59:59Z",
  "2024-13-45",
  "not a date",
  "",
  "2024",
);

const observation = fc.record(
  {
    resourceType: fc.constantFrom("Observation", "observation", "Patient", 7),
    id: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
    status: fc.oneof(fc.constantFrom("final", "amended", "entered-in-error"), anyValue),
    code: fc.oneof(
      fc.record({
        coding: fc.array(
          fc.record({
            system: fc.string(),
            code: fc.constantFrom("718-7", "2161-8", "1742-6", "x"),
          }),
        ),
      }),
      anyValue,
    ),
    valueQuantity: fc.oneof(
      fc.record({
        value: fc.oneof(absurdNumber, fc.string(), fc.constant(null)),
        unit: fc.constantFrom("g/L", "g/dL", "U/L", "mg/dL", "", "furlongs"),
      }),
      anyValue,
    ),
    effectiveDateTime: fc.oneof(absurdDate, anyValue),
  },
  { requiredKeys: [] },
);

const bundle = fc.oneof(
  fc.record({
    resourceType: fc.constant("Bundle"),
    type: fc.constant("searchset"),
    entry: fc.array(fc.record({ resource: observation }), { maxLength: 8 }),
  }),
  anyValue,
);

/** Shaped like a hook request, with every field sometimes wrong. */
const hookRequest = fc.record(
  {
    hook: fc.oneof(
      fc.constantFrom("patient-view", "order-select", "order-sign", "PATIENT-VIEW", ""),
      anyValue,
    ),
    hookInstance: fc.oneof(fc.uuid(), fc.string({ maxLength: 64 }), anyValue),
    fhirServer: fc.oneof(
      fc.constantFrom(
        "http://127.0.0.1:9/fhir",
        "file:///etc/passwd",
        "http://169.254.169.254/latest",
      ),
      anyValue,
    ),
    fhirAuthorization: fc.oneof(
      fc.record(
        {
          access_token: fc.string(),
          token_type: fc.constant("Bearer"),
          expires_in: absurdNumber,
          scope: fc.string(),
          subject: fc.string(),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    context: fc.oneof(
      fc.record(
        {
          userId: fc.string(),
          patientId: fc.oneof(fc.string({ maxLength: 10 }), anyValue),
          draftOrders: bundle,
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    prefetch: fc.oneof(
      fc.dictionary(hostileKey, fc.oneof(bundle, observation, fc.constant(null), anyValue), {
        maxKeys: 5,
      }),
      anyValue,
    ),
    extension: anyValue,
  },
  { requiredKeys: [] },
);

/**
 * A valid patient-view request for a patient on iguratimod whose labs are hostile in their
 * values, units and dates (well-shaped Observations, so the request passes the schema and the
 * clinical rules see them). Most of these should answer 200 with valid cards.
 */
const hostileLab = fc.record({
  resourceType: fc.constant("Observation"),
  id: fc.stringMatching(/^[A-Za-z0-9-]{1,16}$/),
  status: fc.constantFrom("final", "amended", "corrected", "preliminary", "entered-in-error"),
  code: fc.record({
    coding: fc.tuple(
      fc.record({
        system: fc.constantFrom("http://loinc.org", "urn:local"),
        code: fc.constantFrom("718-7", "1742-6", "2889-4", "2160-0", "1751-7", "2890-2", "16285-9"),
      }),
    ),
  }),
  valueQuantity: fc.record(
    {
      value: fc.oneof(absurdNumber, fc.double({ min: 0, max: 500, noNaN: true })),
      unit: fc.constantFrom("g/L", "g/dL", "U/L", "mg/dL", "umol/L", "g/(24.h)", "", "furlongs"),
      system: fc.constant("http://unitsofmeasure.org"),
      code: fc.constantFrom("g/L", "g/dL", "U/L", "mg/dL", "umol/L", "g/(24.h)", "mmol/L", "%"),
    },
    { requiredKeys: ["value"] },
  ),
  effectiveDateTime: fc.oneof(
    absurdDate,
    fc
      .integer({ min: 1, max: 400 })
      .map((d) => new Date(Date.UTC(2026, 0, 15) - d * 86_400_000).toISOString()),
  ),
});

const validHostileRequest = fc
  .record({
    hookInstance: fc.uuid(),
    labs: fc.array(hostileLab, { maxLength: 30 }),
    onIguratimod: fc.boolean(),
  })
  .map(({ hookInstance, labs, onIguratimod }) => ({
    hook: "patient-view",
    hookInstance,
    context: { userId: "Practitioner/fuzz", patientId: "fuzz-1" },
    prefetch: {
      patient: { resourceType: "Patient", id: "fuzz-1", gender: "female" },
      labs: {
        resourceType: "Bundle",
        type: "searchset",
        entry: labs.map((resource) => ({
          resource: { ...resource, subject: { reference: "Patient/fuzz-1" } },
        })),
      },
      medicationStatements: {
        resourceType: "Bundle",
        type: "searchset",
        entry: onIguratimod
          ? [
              {
                resource: {
                  resourceType: "MedicationStatement",
                  id: "fuzz-igu",
                  status: "active",
                  medicationCodeableConcept: { text: "iguratimod 25 mg" },
                  subject: { reference: "Patient/fuzz-1" },
                  effectivePeriod: { start: "2025-09-01T08:00:00Z" },
                },
              },
            ]
          : [],
      },
      medicationRequests: null,
    },
  }));

interface Body {
  readonly bytes: Buffer;
  readonly contentType: string;
}
const json = (v: unknown, type = "application/json"): Body => {
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const text = JSON.stringify(v) as string | undefined;
  return { bytes: Buffer.from(text ?? "null"), contentType: type };
};

const deep = (n: number): Body => json(JSON.parse("[".repeat(n) + "]".repeat(n)));
const specialBodies: Body[] = [
  { bytes: Buffer.from("[".repeat(10_000) + "]".repeat(10_000)), contentType: "application/json" },
  {
    bytes: Buffer.from('{"a":'.repeat(10_000) + "1" + "}".repeat(10_000)),
    contentType: "application/json",
  },
  json({
    hook: "patient-view",
    hookInstance: "x",
    context: { patientId: "1" },
    prefetch: { obs: Array.from({ length: 100_000 }, () => 0) },
  }),
  json({ hook: "patient-view", hookInstance: "h".repeat(900_000), context: { patientId: "1" } }),
  {
    bytes: Buffer.from(
      '{"hook":"patient-view","hook":"order-sign","hookInstance":"a","hookInstance":1}',
    ),
    contentType: "application/json",
  },
  {
    bytes: Buffer.from(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"hook":"patient-view"}',
    ),
    contentType: "application/json",
  },
  {
    bytes: Buffer.concat([
      Buffer.from('{"hook":"patient-view","hookInstance":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('"}'),
    ]),
    contentType: "application/json",
  },
  { bytes: Buffer.from("x".repeat(2_000_000)), contentType: "application/json" },
  { bytes: Buffer.from(""), contentType: "application/json" },
  { bytes: Buffer.from("null"), contentType: "application/json" },
  { bytes: Buffer.from('"just a string"'), contentType: "application/fhir+json" },
  { bytes: Buffer.from("hook=patient-view"), contentType: "application/x-www-form-urlencoded" },
  { bytes: Buffer.from("<xml/>"), contentType: "text/xml" },
  deep(99),
  deep(101),
];

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 12, arbitrary: hookRequest.map((v) => json(v)) },
  { weight: 10, arbitrary: validHostileRequest.map((v) => json(v)) },
  { weight: 2, arbitrary: anyValue.map((v) => json(v, "application/fhir+json")) },
  {
    weight: 2,
    arbitrary: fc
      .string({ maxLength: 200 })
      .map((s) => ({ bytes: Buffer.from(s), contentType: "application/json" })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 200 })
      .map((b) => ({ bytes: Buffer.from(b), contentType: "application/json" })),
  },
  {
    weight: 1,
    arbitrary: hookRequest.map((v) => {
      const text = JSON.stringify(v);
      return {
        bytes: Buffer.from(text.slice(0, Math.floor(text.length / 2))),
        contentType: "application/json",
      };
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom(...specialBodies) },
);

describe("hostile request bodies against POST /cds-services/{id}", () => {
  it(`answers ${RUNS} generated bodies with 2xx or 4xx + OperationOutcome, never 5xx, and keeps serving`, async () => {
    const histogram = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, async ({ bytes, contentType }) => {
        const res = await fetch(base + path, {
          method: "POST",
          headers: { "content-type": contentType },
          body: bytes,
        });
        const text = await res.text();
        histogram.set(res.status, (histogram.get(res.status) ?? 0) + 1);
        expect(res.status, text.slice(0, 300)).toBeGreaterThanOrEqual(200);
        expect(res.status, text.slice(0, 300)).toBeLessThan(500);
        if (res.status === 200) {
          expect(responseViolations(JSON.parse(text))).toEqual([]);
        }
        if (res.status >= 400) {
          const outcome = JSON.parse(text) as { resourceType?: unknown; issue?: unknown };
          expect(outcome.resourceType).toBe("OperationOutcome");
          expect(Array.isArray(outcome.issue)).toBe(true);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20_240_601) },
    );
    const rows = [...histogram.entries()].sort(([a], [b]) => a - b);
    console.log(
      `fuzz: ${RUNS} bodies; status histogram: ${rows.map(([s, n]) => `${s}×${n}`).join(", ")}`,
    );
    expect([...histogram.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RUNS);
    // The schema-valid share must reach the clinical rules, not bounce off validation.
    expect(histogram.get(200) ?? 0).toBeGreaterThanOrEqual(RUNS * 0.25);

    // Still serving after the storm.
    for (const special of specialBodies) {
      const res = await fetch(base + path, {
        method: "POST",
        headers: { "content-type": special.contentType },
        body: special.bytes,
      });
      expect(res.status).toBeLessThan(500);
    }
  }, 120_000);
});
