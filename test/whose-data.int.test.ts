/**
 * Whose data (docs/cds-contract.md#whose-data, docs/clinical-rules.md#2-medications): only the
 * hook's patient's resources ever reach a rule, on both paths.
 *
 * The FHIR server is the demo FHIR server (src/fhir-server) behind a small express app that drops
 * `patient=` and `subject=` from every search, as a broken server would: every search answers
 * every patient's resources (in no particular order: it ignores `_sort` as well). The EHR (test/support/mini-ehr.ts) fills its prefetch from that
 * server too, so its prefetch is mixed the same way. Patient 4 must still get her own cards (and
 * only them), her alerts must name her and her Observations, and no card may name another
 * patient's resource. A `patient` prefetch of another patient and keys of the wrong type count
 * as failed keys; a `medicationReference` to a Medication on the server is read from it.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Bundle, FhirResource, MedicationStatement, Medication } from "fhir/r4.js";
import express from "express";
import type { Kysely } from "kysely";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allFixtureBundles,
  patientBundle,
  patientPrefetch,
  studyPatientResources,
} from "../fixtures/index.js";
import { lab, medicationStatement } from "../fixtures/build.js";
import { defaultServices } from "../cds-services/index.js";
import { startMonitor } from "../src/alerts/monitor.js";
import { createAlertSink } from "../src/alerts/sink.js";
import type { AlertStore } from "../src/alerts/store.js";
import { createLogger } from "../src/log.js";
import { testConfig } from "../src/config.js";
import { createFhirServerApp } from "../src/fhir-server/index.js";
import { createAppServer } from "../src/http/server.js";
import { openStore, type Store } from "../src/store/index.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { MiniEhr, comparable, type HookCard } from "./support/mini-ehr.js";
import { protocolApp } from "./support/protocol-app.js";
import { freshSqlitePath } from "./support/stores.js";

const NOW = new Date();
const PATIENT = "kang-04";
/**
 * Patient 4 and others whose data would change her cards: a relapse (12), requests and a
 * remission (2), a critical anaemia with an active iguratimod order, overdue monitoring.
 */
const OTHERS_ON_THE_SERVER = [
  "kang-02",
  PATIENT,
  "kang-12",
  "scn-critical-anemia-active-order",
  "scn-monitoring-overdue",
];

/** Patient 4's chart under another id, her iguratimod statement naming a Medication by reference. */
const MREF = "mref-04";
const MEDICATION: Medication = {
  resourceType: "Medication",
  id: "iguratimod-25mg-tablet",
  code: { coding: [{ display: "iguratimod" }], text: "Iguratimod 25 mg tablet" },
};

function renamed(resources: readonly FhirResource[], from: string, to: string): FhirResource[] {
  return JSON.parse(JSON.stringify(resources).replaceAll(from, to)) as FhirResource[];
}

function byReference(resources: FhirResource[]): FhirResource[] {
  return resources.map((r) => {
    if (r.resourceType !== "MedicationStatement" || !r.id?.endsWith("-iguratimod")) return r;
    const { medicationCodeableConcept: _, ...rest } = r;
    return {
      ...rest,
      medicationReference: { reference: `Medication/${MEDICATION.id ?? ""}` },
    } as MedicationStatement;
  });
}

const mrefResources = byReference(renamed(studyPatientResources(PATIENT, NOW), PATIENT, MREF));

/** Every id of every patient but `patientId`, to prove no card names one of them. */
let otherIds: string[] = [];
let fhirBase = "";
/** Requests the FHIR server received. */
let fhirRequests = 0;
let server: Server;
let store: Store;
let ehr: MiniEhr;
let app: ReturnType<typeof protocolApp>["app"];

/** The demo FHIR server behind an app that drops `patient=`/`subject=` from every query. */
async function startIgnoringServer(bundles: Bundle[]): Promise<void> {
  const fhir = await createFhirServerApp({ bundles });
  await fhir.addResource(MEDICATION);
  const front = express();
  front.use((req, res, next) => {
    fhirRequests += 1;
    const url = new URL(req.url, "http://x.invalid");
    url.searchParams.delete("patient");
    url.searchParams.delete("subject");
    // Unfiltered, the demo server's in-memory sort takes tens of seconds: this server ignores
    // the order asked for too (the rules sort by time themselves).
    url.searchParams.delete("_sort");
    req.url = `${url.pathname}${url.search}`;
    req.originalUrl = req.url;
    fhir.app(req, res, next);
  });
  server = createAppServer(front).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  fhirBase = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/fhir`;
}

beforeAll(async () => {
  const all = allFixtureBundles(NOW);
  const bundles = [
    ...OTHERS_ON_THE_SERVER.map((id) => patientBundle(all, id)),
    {
      resourceType: "Bundle",
      type: "collection",
      entry: mrefResources.map((resource) => ({ resource })),
    },
  ] as Bundle[];
  otherIds = bundles.flatMap((b) =>
    (b.entry ?? []).flatMap((e) => {
      const r = e.resource;
      if (r?.id === undefined || r.id.includes(PATIENT) || r.id === MEDICATION.id) return [];
      return [r.id];
    }),
  );
  await startIgnoringServer(bundles);
  store = await openStore({ SQLITE_PATH: freshSqlitePath() });
  const env = {
    FHIR_SERVER_ALLOWLIST: new URL(fhirBase).origin,
    PREFETCH_BUDGET_MS: "30000",
    // The EHR's prefetch holds every patient's data, as its broken server gave it.
    BODY_LIMIT_BYTES: String(16 * 1024 * 1024),
    FHIR_TIMEOUT_MS: "30000",
  };
  const sink = createAlertSink({
    store: store as unknown as AlertStore,
    config: testConfig(env),
    logger: createLogger("silent"),
  });
  ({ app } = protocolApp({
    env,
    services: defaultServices(testConfig(env)),
    alertSink: sink,
    clock: () => NOW,
  }));
  ehr = new MiniEhr(app, fhirBase);
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
  await store.close();
});

const USER = "Practitioner/whose-data";

/** No id of another patient's resource anywhere in the card (evidence, detail, suggestions). */
function namesNoOtherPatient(cards: readonly HookCard[]): void {
  for (const card of cards) {
    const json = JSON.stringify(card);
    const named = otherIds.filter((id) => json.includes(`/${id}`) || json.includes(`"${id}"`));
    expect(named, card.summary).toEqual([]);
    for (const ref of card.extension?.["ln-cds"].evidence ?? [])
      expect(ref, card.summary).toMatch(new RegExp(`^[A-Za-z]+/(${PATIENT}|${MREF})\\b`));
  }
}

const findings = (cards: readonly HookCard[]) =>
  cards.map((c) => [c.extension?.["ln-cds"].finding, c.indicator]);

async function alertRows() {
  const db = store.db as unknown as Kysely<{
    safety_alert: { patient: string; observation: string };
  }>;
  return db.selectFrom("safety_alert").select(["patient", "observation"]).execute();
}

describe("a FHIR server that ignores patient=: only patient 4's data reaches the rules", () => {
  const expected = {
    "iguratimod-safety": [["anemia", "critical"]],
    "iguratimod-response": [["week24-discontinued-early", "info"]],
    "refractory-ln-eligibility": [],
  } as const;

  for (const [serviceId, cards] of Object.entries(expected)) {
    it(`${serviceId}: patient 4's own cards on both paths (prefetch mixed with every patient's, and fetched)`, async () => {
      const context = { userId: USER, patientId: PATIENT };
      const prefetched = await ehr.call(serviceId, "patient-view", context, { prefetch: true });
      const fetched = await ehr.call(serviceId, "patient-view", context, { prefetch: false });
      for (const res of [prefetched, fetched]) {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(responseViolations(res.body)).toEqual([]);
        expect(findings(res.body.cards ?? [])).toEqual(cards);
        namesNoOtherPatient(res.body.cards ?? []);
        for (const card of res.body.cards ?? [])
          expect(card.detail, card.detail).toMatch(
            /Observations belonging to another patient dropped/,
          );
      }
      expect(comparable(fetched.body.cards ?? [])).toEqual(comparable(prefetched.body.cards ?? []));
    }, 60_000);
  }

  it("patient 4's anaemia card rests on her own Hb 32 g/L, and every alert names her and her Observations", async () => {
    const res = await ehr.call(
      "iguratimod-safety",
      "patient-view",
      { userId: USER, patientId: PATIENT },
      { prefetch: false },
    );
    const [card] = res.body.cards ?? [];
    expect(card?.summary).toMatch(/Hb 32 g\/L/);
    expect(card?.extension?.["ln-cds"].evidence).toContain("Observation/kang-04-hb-w12");
    const rows = await alertRows();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows.filter((r) => !r.patient.includes(MREF))) {
      expect(row.patient).toBe(`Patient/${PATIENT}`);
      expect(row.observation).toMatch(/^Observation\/kang-04-/);
    }
  }, 60_000);
});

describe("prefetch of another patient", () => {
  const own = () => patientPrefetch(studyPatientResources(PATIENT, NOW));
  const other = () => patientPrefetch(studyPatientResources("kang-02", NOW));
  const post = (prefetch: Record<string, unknown>, fhirServer?: string) =>
    request(app)
      .post("/cds-services/iguratimod-safety")
      .send({
        hook: "patient-view",
        hookInstance: "5d0c1e9a-2f4b-4c8e-9a7d-3b6e1f0a2c4d",
        context: { userId: USER, patientId: PATIENT },
        prefetch,
        ...(fhirServer !== undefined ? { fhirServer } : {}),
      });

  it("labs mixed with another patient's Observations: her critical card, from her data only", async () => {
    const prefetch = own();
    const labs = prefetch.labs as Bundle;
    labs.entry = [...(labs.entry ?? []), ...((other().labs as Bundle).entry ?? [])];
    const res = await post(prefetch);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cards = (res.body as { cards: HookCard[] }).cards;
    expect(findings(cards)).toEqual([["anemia", "critical"]]);
    expect(cards[0]?.summary).toMatch(/Hb 32 g\/L/);
    namesNoOtherPatient(cards);
  });

  it("a `patient` prefetch of another patient is a failed key: 412 naming it without a FHIR server", async () => {
    const res = await post({ ...own(), patient: other().patient });
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({ issue: [{ expression: ["prefetch.patient"] }] });
  });

  it("a `patient` prefetch of another patient is fetched again from the FHIR server: the cards and alerts name patient 4", async () => {
    const res = await post({ ...own(), patient: other().patient }, fhirBase);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cards = (res.body as { cards: HookCard[] }).cards;
    expect(findings(cards)).toEqual([["anemia", "critical"]]);
    namesNoOtherPatient(cards);
    for (const row of await alertRows()) expect(row.patient).not.toMatch(/kang-02/);
  });

  it("a key holding only another patient's data, or only the wrong type, is a failed key: 412 naming it", async () => {
    const res = await post({ ...own(), labs: other().labs });
    expect(res.status).toBe(412);
    expect(res.body).toMatchObject({ issue: [{ expression: ["prefetch.labs"] }] });
    const wrongType = await post({ ...own(), medicationStatements: own().labs });
    expect(wrongType.status).toBe(412);
    expect(wrongType.body).toMatchObject({
      issue: [{ expression: ["prefetch.medicationStatements"] }],
    });
  });
});

describe("a medicationReference to a Medication on the FHIR server", () => {
  it("is read from the server on both paths: Hb 32 g/L on iguratimod gets its critical card", async () => {
    const context = { userId: USER, patientId: MREF };
    for (const prefetch of [true, false]) {
      const res = await ehr.call("iguratimod-safety", "patient-view", context, { prefetch });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(findings(res.body.cards ?? []), `prefetch: ${String(prefetch)}`).toEqual([
        ["anemia", "critical"],
      ]);
    }
  }, 60_000);

  it("that cannot be had is reported on the card as unreadable, not skipped", async () => {
    const resources = studyPatientResources(PATIENT, NOW);
    const gone = medicationStatement({
      id: "kang-04-unknown-drug",
      patientId: PATIENT,
      medicationReference: "Medication/not-on-the-server",
      start: "2026-01-01T00:00:00Z",
    });
    const res = await request(app)
      .post("/cds-services/iguratimod-safety")
      .send({
        hook: "patient-view",
        hookInstance: "6e1d2f0b-3a5c-4d9f-8b8e-4c7f2a1b3d5e",
        fhirServer: fhirBase,
        context: { userId: USER, patientId: PATIENT },
        prefetch: patientPrefetch([...resources, gone]),
      });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [card] = (res.body as { cards: HookCard[] }).cards;
    expect(card?.detail).toMatch(
      /a medication statement \(active, from 2026-01-01\) names a Medication that could not be read/,
    );
  });
});

describe("an id that would change a FHIR URL's path", () => {
  it.each([".", ".."])(
    "patientId %j is refused with 400 naming context.patientId, before any FHIR request",
    async (patientId) => {
      const before = fhirRequests;
      const res = await request(app)
        .post("/cds-services/iguratimod-safety")
        .send({
          hook: "patient-view",
          hookInstance: "7f2e3a1c-4b6d-4e0a-9c9f-5d8a3b2c4e6f",
          fhirServer: fhirBase,
          context: { userId: USER, patientId },
        });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        resourceType: "OperationOutcome",
        issue: [{ expression: ["context.patientId"] }],
      });
      expect(fhirRequests).toBe(before);
    },
  );

  it('a userId of "Practitioner/.." is refused with 400 naming context.userId', async () => {
    const res = await request(app)
      .post("/cds-services/iguratimod-safety")
      .send({
        hook: "patient-view",
        hookInstance: "8a3f4b2d-5c7e-4f1b-8d0a-6e9b4c3d5f7a",
        context: { userId: "Practitioner/..", patientId: PATIENT },
      });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ issue: [{ expression: ["context.userId"] }] });
  });
});

describe("values no lab could mean", () => {
  const yesterday = new Date(NOW.getTime() - 86_400_000).toISOString();
  const result = (id: string, loinc: string, value: number, unit: string): FhirResource =>
    lab({ id, loinc, value, unit, at: yesterday, patientId: PATIENT });
  const absurd = [
    result("kang-04-hb-zero", "718-7", 0, "g/L"),
    result("kang-04-hb-denormal", "718-7", 1e-320, "g/L"),
    result("kang-04-alt-huge", "1742-6", 20_000, "U/L"),
  ];

  it("Hb 0 or 1e-320 g/L and ALT 20,000 U/L are named in the notes, never graded, never alerted", async () => {
    const res = await request(app)
      .post("/cds-services/iguratimod-safety")
      .send({
        hook: "patient-view",
        hookInstance: "9b4a5c3e-6d8f-4a2c-9e1b-7f0c5d4e6a8b",
        context: { userId: USER, patientId: PATIENT },
        prefetch: patientPrefetch([...studyPatientResources(PATIENT, NOW), ...absurd]),
      });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cards = (res.body as { cards: HookCard[] }).cards;
    expect(findings(cards)).toEqual([["anemia", "critical"]]);
    const [card] = cards;
    expect(card?.summary).toMatch(/Hb 32 g\/L/);
    for (const o of absurd)
      expect(card?.extension?.["ln-cds"].evidence).not.toContain(`Observation/${o.id ?? ""}`);
    const day = yesterday.slice(0, 10);
    for (const value of ["0", "1e-320"])
      expect(card?.detail).toContain(
        `implausible value ${value} g/L on ${day} (plausible 10–250 g/L): not used`,
      );
    const alerted = (await alertRows()).map((r) => r.observation);
    for (const o of absurd) expect(alerted).not.toContain(`Observation/${o.id ?? ""}`);
  });
});

describe("the safety monitor on a FHIR server that ignores patient=", () => {
  it("raises each alert for the patient whose Observation it is, never from another's data", async () => {
    const config = testConfig({
      MONITOR_FHIR_SERVER: fhirBase,
      FHIR_SERVER_ALLOWLIST: new URL(fhirBase).origin,
      FHIR_TIMEOUT_MS: "30000",
    });
    const sink = createAlertSink({
      store: store as unknown as AlertStore,
      config,
      logger: createLogger("silent"),
    });
    const monitor = startMonitor({
      store: store as unknown as AlertStore,
      config,
      logger: createLogger("silent"),
      sink,
      intervalMs: 3_600_000,
      roundTimeoutMs: 60_000,
    });
    try {
      await monitor.runOnce();
    } finally {
      await monitor.stop();
    }
    const rows = await alertRows();
    expect(rows.some((r) => r.patient === `Patient/${PATIENT}`)).toBe(true);
    for (const row of rows) {
      const id = row.patient.replace(/^Patient\//, "");
      expect(row.observation, row.patient).toMatch(new RegExp(`^Observation/${id}-`));
    }
  }, 90_000);
});
