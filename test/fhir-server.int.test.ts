import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle, Observation, Patient } from "fhir/r4.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { allFixtureBundles } from "../fixtures/index.js";
import { LAB_CODES } from "../src/clinical/codes.js";

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

describe("demo FHIR server patient index", () => {
  const labCodes = [...LAB_CODES.keys()].map((c) => `http://loinc.org|${c}`).join(",");
  const searches = [
    `Observation?patient=kang-04&code=${labCodes}&_sort=-date&_count=1000`,
    `Observation?patient=kang-04&code=${labCodes}&_sort=-date&_count=25`,
    "Observation?subject=Patient/kang-07&_count=60",
    "Observation?patient=kang-04,kang-05&_count=1000",
    "Observation?patient=nobody&_count=5",
    "MedicationStatement?patient=kang-04",
    "MedicationRequest?patient=kang-04",
    "Condition?patient=kang-04",
    "Patient?_id=kang-04",
  ];
  let indexed: RunningFhirServer;
  let unindexed: RunningFhirServer;

  beforeAll(async () => {
    const bundles = allFixtureBundles(REF);
    indexed = await startFhirServer({ bundles });
    unindexed = await startFhirServer({ bundles, patientIndex: false });
  });
  afterAll(async () => {
    await indexed.close();
    await unindexed.close();
  });

  /** Each server stamps its own versionId and lastUpdated on the fixtures when it loads them. */
  function withoutServerMeta(body: Bundle): Bundle {
    for (const e of body.entry ?? []) {
      if (e.resource?.meta?.lastUpdated?.startsWith("2026-01-14T10:00") === true) continue;
      delete e.resource?.meta;
    }
    // The searchset's own stamp is the time it was answered.
    delete body.meta;
    return body;
  }

  /** Every page of a search, following next links, with the server's origin removed from links. */
  async function pages(base: string, search: string): Promise<unknown[]> {
    const out: unknown[] = [];
    let url: string | undefined = `${base}/${search}`;
    while (url !== undefined) {
      const res = await fetch(url);
      const text = (await res.text()).replaceAll(base, "BASE");
      const body = JSON.parse(text) as Bundle;
      out.push({ status: res.status, body: withoutServerMeta(body) });
      url = body.link?.find((l) => l.relation === "next")?.url.replace("BASE", base);
    }
    return out;
  }

  async function expectSameAnswers(only = searches): Promise<void> {
    for (const search of only) {
      const expected = await pages(unindexed.url, search);
      expect(await pages(indexed.url, search), search).toEqual(expected);
    }
  }

  it("answers patient searches exactly like Medplum's unindexed repository, page by page", async () => {
    await expectSameAnswers();
  }, 120_000);

  it("returns the fixture lab Observations of the patient, newest first, in full pages", async () => {
    const wanted = new Set(LAB_CODES.keys());
    const fixture = allFixtureBundles(REF)
      .flatMap((b) => b.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is Observation => r?.resourceType === "Observation")
      .filter((o) => o.subject?.reference === "Patient/kang-04")
      .filter((o) => o.code.coding?.some((c) => wanted.has(c.code ?? "")) ?? false);
    expect(fixture.length).toBeGreaterThan(25);
    const got = (await pages(indexed.url, searches[1]!)) as { body: Bundle }[];
    const entries = got.flatMap((p) => p.body.entry ?? []).map((e) => e.resource as Observation);
    expect(got.map((p) => p.body.entry?.length ?? 0)).toEqual(
      Array.from({ length: Math.ceil(fixture.length / 25) }, (_, i) =>
        Math.min(25, fixture.length - i * 25),
      ),
    );
    expect(got.every((p) => p.body.total === fixture.length)).toBe(true);
    expect(new Set(entries.map((o) => o.id))).toEqual(new Set(fixture.map((o) => o.id)));
    const times = entries.map((o) => o.effectiveDateTime!);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("stays identical after resources are added and moved to another patient at runtime", async () => {
    const added: Observation = {
      resourceType: "Observation",
      id: "kang-04-hb-runtime",
      meta: { versionId: "1", lastUpdated: "2026-01-14T10:00:00.000Z" },
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "718-7" }] },
      subject: { reference: "Patient/kang-04" },
      effectiveDateTime: "2026-01-14T09:00:00Z",
      valueQuantity: { value: 91, unit: "g/L", system: "http://unitsofmeasure.org", code: "g/L" },
    };
    const affected = [searches[0]!, searches[2]!, searches[3]!];
    for (const s of [indexed, unindexed]) await s.addResource(added);
    await expectSameAnswers(affected);
    const moved = { ...added, subject: { reference: "Patient/kang-07" } };
    for (const s of [indexed, unindexed]) await s.addResource(moved);
    await expectSameAnswers(affected);
    const kang07 = (await pages(indexed.url, "Observation?patient=kang-07&_count=1000")) as {
      body: Bundle;
    }[];
    expect(kang07[0]?.body.entry?.some((e) => e.resource?.id === added.id)).toBe(true);
  }, 120_000);
});
