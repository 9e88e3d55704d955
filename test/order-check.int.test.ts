/**
 * iguratimod-order-check over order-select and order-sign, through the test EHR and the demo FHIR
 * server: an eligible study patient and patient 11 (one prior agent: not eligible) on the day
 * iguratimod was ordered, warfarin, pregnancy, missing baseline labs, a wrong dose, and the bent
 * requests real EHRs send (empty draft, single objects where R4 wants arrays).
 */
import { randomUUID } from "node:crypto";
import type { Bundle } from "fhir/r4.js";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles, chartAsOf, iguratimodDay0, patientBundle } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { protocolApp } from "./support/protocol-app.js";
import {
  comparable,
  iguratimodDraft,
  MiniEhr,
  type EhrContext,
  type HookCard,
} from "./support/mini-ehr.js";

const NOW = new Date();
/** Each order hook has its own id in discovery; the version-1 id stays as an unlisted alias. */
const ID = { "order-select": "iguratimod-order-select", "order-sign": "iguratimod-order-sign" };
const ALIAS = "iguratimod-order-check";

let today: RunningFhirServer;
let past: RunningFhirServer;
const day0: Record<string, Date> = {};

function ehrOn(fhir: RunningFhirServer, clock: Date) {
  const env = {
    FHIR_SERVER_ALLOWLIST: [today, past].map((s) => new URL(s.url).origin).join(","),
    PREFETCH_BUDGET_MS: "30000",
    FHIR_TIMEOUT_MS: "30000",
  };
  const { app } = protocolApp({
    env,
    services: defaultServices(testConfig(env)),
    clock: () => clock,
  });
  return new MiniEhr(app, fhir.url);
}

beforeAll(async () => {
  const bundles = allFixtureBundles(NOW);
  today = await startFhirServer({ bundles });
  // Patients 2 (eligible) and 11 (one prior agent) as their charts stood the day iguratimod was ordered.
  const then: Bundle[] = [];
  for (const id of ["kang-02", "kang-11"]) {
    const b = patientBundle(bundles, id);
    const t = iguratimodDay0(b);
    day0[id] = new Date(t);
    then.push(chartAsOf(b, t, { withoutIguratimod: true }));
  }
  past = await startFhirServer({ bundles: then });
}, 60_000);

afterAll(async () => {
  await Promise.all([today.close(), past.close()]);
});

const findings = (cards: readonly HookCard[]) =>
  cards.map((c) => [c.extension?.["ln-cds"].finding, c.indicator]);

async function order(
  ehr: MiniEhr,
  hook: "order-select" | "order-sign",
  patientId: string,
  draft = iguratimodDraft(patientId),
) {
  const context = {
    userId: "Practitioner/e2e",
    patientId,
    ...(hook === "order-select" ? { selections: [`MedicationRequest/${draft.id ?? ""}`] } : {}),
    draftOrders: {
      resourceType: "Bundle",
      type: "collection",
      entry: [{ resource: draft }],
    } as Bundle,
  };
  const withPrefetch = await ehr.call(ID[hook], hook, context, { prefetch: true });
  const fetched = await ehr.call(ID[hook], hook, context, { prefetch: false });
  for (const res of [withPrefetch, fetched]) {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(responseViolations(res.body)).toEqual([]);
  }
  const cards = withPrefetch.body.cards ?? [];
  expect(comparable(fetched.body.cards ?? [])).toEqual(comparable(cards));
  return cards;
}

describe("the iguratimod order check", () => {
  it("is listed under its own id per order hook; every discovery id is unique; the old id is unlisted", async () => {
    const services = await ehrOn(today, NOW).services();
    const ids = services.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(services.filter((s) => s.hook.startsWith("order-")).map((s) => [s.id, s.hook])).toEqual([
      [ID["order-select"], "order-select"],
      [ID["order-sign"], "order-sign"],
    ]);
    expect(ids).not.toContain(ALIAS);
  });

  it("the old id still answers both order hooks with the same cards as the listed ids", async () => {
    const ehr = ehrOn(today, NOW);
    for (const hook of ["order-select", "order-sign"] as const) {
      const draft = iguratimodDraft("scn-warfarin-active");
      const context: EhrContext = {
        userId: "Practitioner/e2e",
        patientId: "scn-warfarin-active",
        ...(hook === "order-select" ? { selections: [`MedicationRequest/${draft.id ?? ""}`] } : {}),
        draftOrders: { resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] },
      };
      const listed = await ehr.call(ID[hook], hook, context, { prefetch: false });
      const alias = await ehr.call(ALIAS, hook, context, { prefetch: false });
      expect(alias.status, JSON.stringify(alias.body)).toBe(200);
      expect(listed.body.cards?.length).toBeGreaterThan(0);
      expect(comparable(alias.body.cards ?? [])).toEqual(comparable(listed.body.cards ?? []));
    }
  }, 60_000);

  for (const hook of ["order-select", "order-sign"] as const) {
    it(`${hook}: patient 2 on the day of the switch is eligible (info), with nothing else to say`, async () => {
      const cards = await order(ehrOn(past, day0["kang-02"] as Date), hook, "kang-02");
      expect(findings(cards)).toEqual([["refractory-ln-eligible", "info"]]);
      expect(cards[0]?.summary).toMatch(/^Refractory LN \(kang2020\): \d agents failed/);
    }, 60_000);

    it(`${hook}: patient 11 (one failed agent in Table 1) is not eligible: a warning naming the unmet criterion`, async () => {
      const cards = await order(ehrOn(past, day0["kang-11"] as Date), hook, "kang-11");
      expect(findings(cards)).toEqual([["refractory-ln-not-eligible", "warning"]]);
      expect(cards[0]?.summary).toContain("two failed immunosuppressants");
      expect(cards[0]?.overrideReasons?.length).toBeGreaterThan(0);
    }, 60_000);
  }

  it("active warfarin is critical, with the warfarin statement as evidence and a suggestion to remove the draft", async () => {
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-warfarin-active");
    const card = cards.find((c) => c.extension?.["ln-cds"].finding === "warfarin-interaction");
    expect(card?.indicator).toBe("critical");
    expect(card?.extension?.["ln-cds"].evidence).toContain(
      "MedicationStatement/scn-warfarin-active-warfarin",
    );
    expect(card?.suggestions?.[0]?.actions?.[0]).toEqual({
      type: "delete",
      description: expect.any(String) as string,
      resourceId: "MedicationRequest/draft-iguratimod-scn-warfarin-active",
    });
    expect(findings(cards)).toContainEqual(["refractory-ln-eligible", "info"]);
  }, 60_000);

  it("an active pregnancy (LOINC 82810-3 pregnant) is critical", async () => {
    const cards = await order(ehrOn(today, NOW), "order-select", "scn-pregnant");
    const card = cards.find(
      (c) => c.extension?.["ln-cds"].finding === "pregnancy-contraindication",
    );
    expect(card?.indicator).toBe("critical");
    expect(card?.extension?.["ln-cds"].evidence).toEqual(["Observation/scn-pregnant-pregnancy"]);
  }, 60_000);

  it("missing baseline labs: a warning with one LOINC-coded ServiceRequest per missing lab for this patient", async () => {
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-missing-baseline-labs");
    const card = cards.find((c) => c.extension?.["ln-cds"].finding === "baseline-labs-missing");
    expect(card?.indicator).toBe("warning");
    const requests = (card?.suggestions ?? []).map(
      (s) => s.actions?.[0]?.resource as Record<string, unknown>,
    );
    expect(requests.map((r) => (r.code as { coding: { code: string }[] }).coding[0]?.code)).toEqual(
      ["718-7", "1742-6", "2160-0"],
    );
    for (const r of requests) {
      expect(r).toMatchObject({
        resourceType: "ServiceRequest",
        status: "draft",
        subject: { reference: "Patient/scn-missing-baseline-labs" },
      });
    }
  }, 60_000);

  it("a wrong dose (50 mg twice daily = 100 mg/day) is a warning offering the study regimen", async () => {
    const draft = iguratimodDraft("scn-paginated-labs", { mg: 50, timesPerDay: 2 });
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-paginated-labs", draft);
    const card = cards.find((c) => c.extension?.["ln-cds"].finding === "dose-check");
    expect(card?.indicator).toBe("warning");
    expect(card?.summary).toContain("100 mg/day exceeds the label maximum of 50 mg/day");
    expect(card?.detail).toMatch(/\| daily dose \| 100 mg \|/);
    const update = card?.suggestions?.[0]?.actions?.[0];
    expect(update?.type).toBe("update");
    expect(update?.resource).toMatchObject({
      id: "draft-iguratimod-scn-paginated-labs",
      dosageInstruction: [
        {
          doseAndRate: [{ doseQuantity: { value: 25, code: "mg" } }],
          timing: { repeat: { frequency: 2 } },
        },
      ],
    });
  }, 60_000);

  it("25 mg once daily stays under the maximum but differs from the study regimen", async () => {
    const draft = iguratimodDraft("scn-paginated-labs", { mg: 25, timesPerDay: 1 });
    const cards = await order(ehrOn(today, NOW), "order-select", "scn-paginated-labs", draft);
    expect(findings(cards)).toContainEqual(["dose-check", "warning"]);
    expect(cards.find((c) => c.extension?.["ln-cds"].finding === "dose-check")?.summary).toContain(
      "differs from the study's 25 mg twice daily",
    );
  }, 60_000);

  it("order-select on an empty draft (no medication, no intent) answers no cards", async () => {
    const ehr = ehrOn(today, NOW);
    const res = await ehr.call(
      ID["order-select"],
      "order-select",
      {
        userId: "Practitioner/e2e",
        patientId: "scn-paginated-labs",
        selections: ["MedicationRequest/new"],
        draftOrders: {
          resourceType: "Bundle",
          type: "collection",
          entry: [{ resource: { resourceType: "MedicationRequest", id: "new", status: "draft" } }],
        } as unknown as Bundle,
      },
      { prefetch: false },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cards: [] });
  }, 60_000);

  it("an order of another drug answers no cards without reading the chart: no FHIR request, no 412", async () => {
    const amoxicillin = {
      ...iguratimodDraft("kang-02"),
      id: "draft-amoxicillin",
      medicationCodeableConcept: {
        coding: [
          {
            system: "http://www.nlm.nih.gov/research/umls/rxnorm",
            code: "723",
            display: "amoxicillin",
          },
        ],
        text: "Amoxicillin 500 mg capsule",
      },
    };
    const context = (hook: "order-select" | "order-sign"): EhrContext => ({
      userId: "Practitioner/e2e",
      patientId: "kang-02",
      ...(hook === "order-select" ? { selections: ["MedicationRequest/draft-amoxicillin"] } : {}),
      draftOrders: {
        resourceType: "Bundle",
        type: "collection",
        entry: [{ resource: amoxicillin }],
      },
    });
    const ehr = ehrOn(today, NOW);
    today.stats.reset();
    for (const hook of ["order-select", "order-sign"] as const) {
      const res = await ehr.call(ID[hook], hook, context(hook), { prefetch: false });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ cards: [] });
    }
    expect(today.stats.log).toEqual([]);
    // No prefetch and no fhirServer: the chart cannot be had, yet there is nothing to judge.
    const { app } = protocolApp({ services: defaultServices(testConfig({})), clock: () => NOW });
    const bare = await request(app)
      .post(`/cds-services/${ID["order-sign"]}`)
      .send({ hook: "order-sign", hookInstance: randomUUID(), context: context("order-sign") });
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    expect(bare.body).toEqual({ cards: [] });
    // The same request with an iguratimod draft needs the chart: 412 naming a key.
    const igu = await request(app)
      .post(`/cds-services/${ID["order-sign"]}`)
      .send({
        hook: "order-sign",
        hookInstance: randomUUID(),
        context: {
          ...context("order-sign"),
          draftOrders: {
            resourceType: "Bundle",
            type: "collection",
            entry: [{ resource: iguratimodDraft("kang-02") }],
          },
        },
      });
    expect(igu.status).toBe(412);
    expect(igu.body.resourceType).toBe("OperationOutcome");
  }, 60_000);

  it("a draft with category and reasonCode as single objects (not arrays) is still checked", async () => {
    const draft = {
      ...iguratimodDraft("scn-warfarin-active"),
      category: { coding: [{ code: "outpatient" }] },
      reasonCode: { text: "lupus nephritis" },
    } as unknown as ReturnType<typeof iguratimodDraft>;
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-warfarin-active", draft);
    expect(findings(cards)).toContainEqual(["warfarin-interaction", "critical"]);
  }, 60_000);
});
