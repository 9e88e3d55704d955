import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle, Observation, Patient } from "fhir/r4.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { allFixtureBundles } from "../fixtures/index.js";

const REF = new Date("2026-01-15T00:00:00Z");
let server: RunningFhirServer;

beforeAll(async () => {
  server = await startFhirServer({ bundles: allFixtureBundles(REF) });
});
afterAll(async () => {
  await server.close();
});

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the FHIR type it expects
async function get<T = unknown>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(path.startsWith("http") ? path : `${server.url}/${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

describe("demo FHIR server", () => {
  it("reads a fixture Patient by its fixed id", async () => {
    const { status, body } = await get<Patient>("Patient/kang-04");
    expect(status).toBe(200);
    expect(body.id).toBe("kang-04");
    expect(body.gender).toBe("female");
  });

  it("answers 404 with an OperationOutcome for an unknown id", async () => {
    const { status, body } = await get<{ resourceType: string }>("Patient/nobody");
    expect(status).toBe(404);
    expect(body.resourceType).toBe("OperationOutcome");
  });

  it("serves a CapabilityStatement at /metadata", async () => {
    const { status, body } = await get<{ resourceType: string; fhirVersion: string }>("metadata");
    expect(status).toBe(200);
    expect(body.resourceType).toBe("CapabilityStatement");
    expect(body.fhirVersion).toBe("4.0.1");
  });

  it("finds a patient's Observations by bare id, as by reference", async () => {
    const bare = await get<Bundle>("Observation?patient=kang-04&_count=1000");
    const ref = await get<Bundle>("Observation?patient=Patient/kang-04&_count=1000");
    expect(bare.body.entry?.length ?? 0).toBeGreaterThan(5);
    expect(bare.body.entry?.length).toBe(ref.body.entry?.length);
  });

  it("pages a search with self and next links until every resource is read", async () => {
    const all = await get<Bundle>("Observation?patient=kang-04&_count=1000");
    const total = all.body.entry?.length ?? 0;
    let url: string | undefined = `${server.url}/Observation?patient=kang-04&_count=7`;
    const ids = new Set<string>();
    let pages = 0;
    while (url !== undefined) {
      const page: { body: Bundle } = await get<Bundle>(url);
      pages++;
      expect(page.body.link?.find((l) => l.relation === "self")).toBeDefined();
      for (const e of page.body.entry ?? []) ids.add(e.resource!.id!);
      url = page.body.link?.find((l) => l.relation === "next")?.url;
    }
    expect(ids.size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 7));
  });

  it("sorts Observations newest first with _sort=-date", async () => {
    const { body } = await get<Bundle>("Observation?patient=kang-04&_sort=-date&_count=1000");
    const times = (body.entry ?? []).map((e) => (e.resource as Observation).effectiveDateTime!);
    expect(times.length).toBeGreaterThan(5);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("filters by code and by _lastUpdated, and sees resources added while running", async () => {
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await server.addResource({
      resourceType: "Observation",
      id: "kang-04-hb-added",
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "718-7" }] },
      subject: { reference: "Patient/kang-04" },
      effectiveDateTime: "2026-01-14T09:00:00Z",
      valueQuantity: { value: 90, unit: "g/L", system: "http://unitsofmeasure.org", code: "g/L" },
    } as Observation);
    const { body } = await get<Bundle>(
      `Observation?code=http://loinc.org|718-7,http://loinc.org|20509-6&_lastUpdated=gt${before}`,
    );
    expect((body.entry ?? []).map((e) => e.resource!.id)).toEqual(["kang-04-hb-added"]);
  });

  it("counts requests for the benchmark and the no-prefetch tests", async () => {
    server.stats.reset();
    await get("Patient/kang-01");
    expect(server.stats.requests).toBe(1);
    expect(server.stats.log).toEqual(["GET /fhir/Patient/kang-01"]);
  });

  it("delays every answer when asked to play a slow server", async () => {
    const slow = await startFhirServer({ bundles: [], delayMs: 300 });
    try {
      const t0 = Date.now();
      const res = await fetch(`${slow.url}/metadata`);
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    } finally {
      await slow.close();
    }
  });
});
