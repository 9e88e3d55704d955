/**
 * End to end, the way an EHR meets ln-cds: the demo FHIR server on a real port holding the 14
 * study patients and the scenario patients (dated relative to today), a small EHR that reads
 * discovery, renders every prefetch template, runs it against that server and posts the hook.
 *
 * Every patient goes through every patient-view service twice: with the EHR's full prefetch, and
 * with only `fhirServer` + token so the service fetches for itself. Both must give the same cards
 * (apart from uuids), and those cards must be the ones the table below expects.
 */
import type { Bundle } from "fhir/r4.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { protocolApp } from "./support/protocol-app.js";
import { comparable, MiniEhr, type HookCard } from "./support/mini-ehr.js";

/** The clock of the whole run: fixtures are generated relative to it, as the demo does. */
const NOW = new Date();

type Expect = readonly (readonly [finding: string, indicator: HookCard["indicator"]])[];
interface Row {
  readonly eligibility: Expect;
  readonly response: Expect;
  readonly safety: Expect;
}

const none: Expect = [];
const eligible: Expect = [["refractory-ln-eligible", "info"]];
const rel: Expect = [["renal-relapse", "warning"]];
const maintained: Expect = [["remission-maintained", "info"]];

/**
 * What each patient's chart says today. Study patients took iguratimod about a year ago (fixture
 * timelines), so most are past week 24: remission maintained after CR/PR, relapse for 1, 7 and 12,
 * no response for 8; having tried iguratimod, none of them is a candidate for a new start, so the
 * eligibility service (silent on not-eligible) says nothing about them. Patient 4 stopped at
 * week 12 for anaemia (critical, Hb 32 g/L), patient 10 was lost to follow-up.
 */
// prettier-ignore
const EXPECTED: Readonly<Record<string, Row>> = {
  "kang-01": { eligibility: none, response: rel, safety: none },
  "kang-02": { eligibility: none, response: maintained, safety: none },
  "kang-03": { eligibility: none, response: maintained, safety: none },
  "kang-04": { eligibility: none, response: [["week24-discontinued-early", "info"]], safety: [["anemia", "critical"]] },
  "kang-05": { eligibility: none, response: maintained, safety: none },
  "kang-06": { eligibility: none, response: maintained, safety: none },
  "kang-07": { eligibility: none, response: rel, safety: none },
  "kang-08": { eligibility: none, response: [["iguratimod-stopped", "info"]], safety: none },
  "kang-09": { eligibility: none, response: [["iguratimod-stopped", "warning"]], safety: none },
  "kang-10": { eligibility: none, response: [["week24-insufficient-data", "info"]], safety: [["monitoring-overdue", "warning"]] },
  "kang-11": { eligibility: none, response: maintained, safety: none },
  "kang-12": { eligibility: none, response: rel, safety: none },
  "kang-13": { eligibility: none, response: maintained, safety: none },
  "kang-14": { eligibility: none, response: maintained, safety: none },
  "scn-warfarin-active": { eligibility: eligible, response: none, safety: none },
  "scn-pregnant": { eligibility: eligible, response: none, safety: none },
  "scn-missing-baseline-labs": { eligibility: eligible, response: none, safety: none },
  "scn-critical-anemia-active-order": { eligibility: none, response: [["response-interim", "info"]], safety: [["anemia", "critical"]] },
  "scn-monitoring-overdue": { eligibility: none, response: [["response-interim", "info"]], safety: [["monitoring-overdue", "info"]] },
  "scn-paginated-labs": { eligibility: eligible, response: none, safety: none },
  "scn-restart-after-grade3-anaemia": { eligibility: none, response: [["week24-discontinued-early", "info"]], safety: none },
  "scn-ordered-after-failed-course": { eligibility: none, response: [["iguratimod-stopped", "info"]], safety: none },
  "scn-hb-75-at-order": { eligibility: eligible, response: none, safety: none },
  "scn-alt-grade2-at-order": { eligibility: eligible, response: none, safety: none },
  "scn-iguratimod-active-reordered": { eligibility: none, response: [["response-interim", "info"]], safety: none },
  "scn-dose-two-lines-100mg": { eligibility: eligible, response: none, safety: none },
  "scn-dose-sandbox-tablets": { eligibility: eligible, response: none, safety: none },
  "scn-stopped-after-week24": { eligibility: none, response: [["iguratimod-stopped", "warning"]], safety: none },
  "scn-window-open-no-proteinuria": { eligibility: none, response: [["response-interim", "info"]], safety: none },
  "scn-window-closed-lost-to-follow-up": { eligibility: none, response: [["week24-insufficient-data", "info"]], safety: [["monitoring-overdue", "warning"]] },
  "scn-pre-existing-grade1-anaemia": { eligibility: none, response: [["response-interim", "info"]], safety: none },
  "scn-alt-rise-resolved": { eligibility: none, response: [["response-interim", "info"]], safety: none },
};

const SERVICES = {
  eligibility: "refractory-ln-eligibility",
  response: "iguratimod-response",
  safety: "iguratimod-safety",
} as const;

let fhir: RunningFhirServer;
let ehr: MiniEhr;
let bundles: Bundle[];
const knownRefs = new Set<string>();

beforeAll(async () => {
  bundles = allFixtureBundles(NOW);
  for (const b of bundles)
    for (const e of b.entry ?? [])
      if (e.resource?.id) knownRefs.add(`${e.resource.resourceType}/${e.resource.id}`);
  fhir = await startFhirServer({ bundles });
  const env = {
    FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
    PREFETCH_BUDGET_MS: "30000",
    FHIR_TIMEOUT_MS: "30000",
  };
  const { app } = protocolApp({
    env,
    services: defaultServices(testConfig(env)),
    clock: () => NOW,
  });
  ehr = new MiniEhr(app, fhir.url);
}, 60_000);

afterAll(async () => {
  await fhir.close();
});

describe("the cohort through every patient-view service, with and without prefetch", () => {
  it("covers every fixture patient in the expected-results table", () => {
    const ids = bundles.flatMap((b) =>
      (b.entry ?? []).flatMap((e) =>
        e.resource?.resourceType === "Patient" ? [e.resource.id] : [],
      ),
    );
    expect(ids.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("lists the three patient-view services with prefetch templates an EHR can render", async () => {
    const services = await ehr.services();
    const pv = services.filter((s) => s.hook === "patient-view").map((s) => s.id);
    expect(pv.sort()).toEqual(Object.values(SERVICES).sort());
    for (const s of services) {
      expect(s.prefetch?.patient).toBe("Patient/{{context.patientId}}");
      expect(s.prefetch?.labs).toMatch(/^Observation\?patient=\{\{context\.patientId\}\}&code=/);
    }
  });

  for (const [patientId, row] of Object.entries(EXPECTED)) {
    for (const [column, serviceId] of Object.entries(SERVICES) as [keyof Row, string][]) {
      it(`${patientId} · ${serviceId}: ${row[column].map((x) => x.join("/")).join(", ") || "no cards"}, same on both paths`, async () => {
        const context = { userId: "Practitioner/e2e", patientId };
        const withPrefetch = await ehr.call(serviceId, "patient-view", context, { prefetch: true });
        const fetched = await ehr.call(serviceId, "patient-view", context, { prefetch: false });
        for (const res of [withPrefetch, fetched]) {
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(responseViolations(res.body)).toEqual([]);
        }
        const cards = withPrefetch.body.cards ?? [];
        expect(cards.map((c) => [c.extension?.["ln-cds"].finding, c.indicator])).toEqual(
          row[column].map(([f, i]) => [f, i]),
        );
        for (const card of cards) {
          expect(card.source.topic?.code).toBe(card.extension?.["ln-cds"].finding);
          const evidence = card.extension?.["ln-cds"].evidence ?? [];
          expect(evidence.length).toBeGreaterThan(0);
          // Evidence names real resources of this patient's chart, nothing invented.
          for (const ref of evidence) expect(knownRefs.has(ref), ref).toBe(true);
          expect(card.detail).toMatch(/\*\*Criteria\*\*/);
          if (card.indicator !== "info") expect(card.overrideReasons?.length).toBeGreaterThan(0);
        }
        expect(comparable(fetched.body.cards ?? [])).toEqual(comparable(cards));
      }, 60_000);
    }
  }
});

describe("what the cards carry", () => {
  const view = (serviceId: string, patientId: string) =>
    ehr
      .call(
        serviceId,
        "patient-view",
        { userId: "Practitioner/e2e", patientId },
        { prefetch: true },
      )
      .then((r) => r.body.cards ?? []);

  it("patient 4's anaemia card: Hb 32 g/L grade 3 against her baseline, no stop suggestion (iguratimod already stopped)", async () => {
    const [card] = await view("iguratimod-safety", "kang-04");
    expect(card?.summary).toMatch(/Hb 32 g\/L on \d{4}-\d\d-\d\d \(CTCAE grade 3/);
    expect(card?.extension?.["ln-cds"].grade).toBe(3);
    expect(card?.extension?.["ln-cds"].evidence).toEqual(
      expect.arrayContaining(["Observation/kang-04-hb-w12", "Observation/kang-04-hb-w00"]),
    );
    expect(card?.detail).toMatch(/\| hemoglobin \| \d{4}-\d\d-\d\d \| 32 g\/L \|/);
    expect(card?.suggestions).toBeUndefined();
    expect(card?.source.url).toMatch(/^https:\/\//);
    expect(card?.links?.[0]).toMatchObject({
      type: "absolute",
      url: "https://doi.org/10.1186/s13075-020-02154-7",
    });
  });

  it("a critical anaemia with an active iguratimod order suggests stopping that order (update, whole resource, status stopped)", async () => {
    const [card] = await view("iguratimod-safety", "scn-critical-anemia-active-order");
    const action = card?.suggestions?.[0]?.actions?.[0];
    expect(action?.type).toBe("update");
    expect(action?.resource).toMatchObject({
      resourceType: "MedicationRequest",
      id: "scn-critical-anemia-active-order-iguratimod",
      status: "stopped",
      intent: "order",
      subject: { reference: "Patient/scn-critical-anemia-active-order" },
    });
    expect(card?.selectionBehavior).toBe("any");
  });

  it("overdue monitoring suggests LOINC-coded ServiceRequests for hemoglobin and ALT for this patient", async () => {
    const cards = await view("iguratimod-safety", "kang-10");
    const overdue = cards.find((c) => c.extension?.["ln-cds"].finding === "monitoring-overdue");
    const resources = (overdue?.suggestions ?? []).map((s) => s.actions?.[0]?.resource);
    expect(resources).toEqual([
      expect.objectContaining({
        resourceType: "ServiceRequest",
        status: "draft",
        code: { coding: [expect.objectContaining({ system: "http://loinc.org", code: "718-7" })] },
        subject: { reference: "Patient/kang-10" },
      }),
      expect.objectContaining({
        code: { coding: [expect.objectContaining({ system: "http://loinc.org", code: "1742-6" })] },
      }),
    ]);
  });

  it("patient 8 (stopped at day 196 for no response): the stop, its week-24 NR beside kdigo2024, and the KDIGO work-up", async () => {
    const [card] = await view("iguratimod-response", "kang-08");
    expect(card?.summary).toMatch(
      /^Iguratimod stopped on \d{4}-\d\d-\d\d after week-24 no response \(No renal response/,
    );
    expect(card?.extension?.["ln-cds"].criteria).toEqual({ kang2020: "NR", kdigo2024: "NR" });
    expect(card?.detail).toMatch(/\| kang2020 \| protein/);
    expect(card?.detail).toMatch(/\| kdigo2024 \| protein/);
    const codes = (card?.suggestions ?? []).map(
      (s) =>
        (s.actions?.[0]?.resource as { code: { coding: { code: string }[] } }).code.coding[0]?.code,
    );
    expect(codes).toEqual(["13945-1", "4485-9", "4498-2", "5130-0"]);
  });

  it("patient 10 (lost to follow-up, window closed): no order is offered, since none can change the verdict", async () => {
    const [card] = await view("iguratimod-response", "kang-10");
    expect(card?.summary).toMatch(/the window closed on \d{4}-\d\d-\d\d$/);
    expect(card?.suggestions).toBeUndefined();
  });

  it("an eligible patient's card lists every prior agent with dates and outcome", async () => {
    const [card] = await view("refractory-ln-eligibility", "scn-paginated-labs");
    expect(card?.summary).toMatch(/^Refractory LN \(kang2020\): 2 agents failed/);
    expect(card?.detail).toMatch(/\| agent \| course \| outcome \| proteinuria \|/);
    expect(card?.detail).toMatch(
      /\| mycophenolate \| \d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d \| failed \| [\d.]+ → /,
    );
  });
});
