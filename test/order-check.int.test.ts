/**
 * iguratimod-order-check over order-select and order-sign, through the test EHR and the demo FHIR
 * server: an eligible study patient and patient 11 (one prior agent: not eligible) on the day
 * iguratimod was ordered, warfarin, pregnancy, missing baseline labs, a wrong dose, and the bent
 * requests real EHRs send (empty draft, single objects where R4 wants arrays).
 */
import { randomUUID } from "node:crypto";
import type { Bundle, FhirResource, MedicationRequest } from "fhir/r4.js";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles, chartAsOf, iguratimodDay0, patientBundle } from "../fixtures/index.js";
import { scenarioBundle } from "../fixtures/scenarios.js";
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

/** [patient id, lab, latest value]: each side of the CTCAE limits (female ULN of ALT: 40 U/L). */
const LAB_BOUNDARIES = [
  ["scn-order-hb-100", "hb", 100],
  ["scn-order-hb-99-9", "hb", 99.9],
  ["scn-order-hb-80", "hb", 80],
  ["scn-order-hb-79-9", "hb", 79.9],
  ["scn-order-alt-120", "alt", 120],
  ["scn-order-alt-121", "alt", 121],
  ["scn-order-alt-200", "alt", 200],
  ["scn-order-alt-201", "alt", 201],
] as const;

/** scn-hb-75-at-order under another id, its latest Hb 126 g/L and ALT 24 U/L but for one value. */
function labVariant(id: string, lab: "hb" | "alt", value: number): Bundle {
  const source = "scn-hb-75-at-order";
  const b = JSON.parse(
    JSON.stringify(scenarioBundle("hb-75-at-order", NOW)).replaceAll(source, id),
  ) as Bundle;
  for (const e of b.entry ?? []) {
    const r = e.resource as FhirResource | undefined;
    if (r?.resourceType !== "Observation" || !r.valueQuantity) continue;
    if (r.id === `${id}-hb-recent`) r.valueQuantity.value = lab === "hb" ? value : 126;
    if (r.id === `${id}-alt-recent`) r.valueQuantity.value = lab === "alt" ? value : 24;
  }
  return b;
}

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
  // The Hb and ALT boundaries at order: scn-hb-75-at-order with its latest value replaced.
  for (const [id, lab, value] of LAB_BOUNDARIES) then.push(labVariant(id, lab, value));
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
    it(`${hook}: patient 2 on the day of the switch is eligible: info on order-sign only, nothing else to say`, async () => {
      const cards = await order(ehrOn(past, day0["kang-02"] as Date), hook, "kang-02");
      if (hook === "order-select") {
        expect(cards).toEqual([]);
        return;
      }
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
    expect(card?.detail).toMatch(
      /^\*\*Not measured since \d{4}-\d\d-\d\d\*\* \(30 days\): hemoglobin, ALT,/,
    );
    const requests = (card?.suggestions ?? []).map(
      (s) => s.actions?.[0]?.resource as Record<string, unknown>,
    );
    // Hb, ALT, creatinine, 24-h urine protein, albumin, urine sediment (the panel is 45 days old).
    expect(requests.map((r) => (r.code as { coding: { code: string }[] }).coding[0]?.code)).toEqual(
      ["718-7", "1742-6", "2160-0", "2889-4", "1751-7", "13945-1"],
    );
    for (const r of requests) {
      expect(r).toMatchObject({
        resourceType: "ServiceRequest",
        status: "draft",
        subject: { reference: "Patient/scn-missing-baseline-labs" },
      });
    }
  }, 60_000);

  it("50 mg twice daily (100 mg/day, twice the label maximum) is critical and offers the study regimen", async () => {
    const draft = iguratimodDraft("scn-paginated-labs", { mg: 50, timesPerDay: 2 });
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-paginated-labs", draft);
    const card = cards.find((c) => c.extension?.["ln-cds"].finding === "dose-check");
    expect(card?.indicator).toBe("critical");
    expect(card?.summary).toBe(
      "Iguratimod 100 mg/day: twice the label maximum of 50 mg/day or more",
    );
    expect(card?.detail).toContain("50 mg × 2/day = **100 mg/day**");
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

  it("25 mg once daily, the label's first step, is not flagged", async () => {
    const draft = iguratimodDraft("scn-paginated-labs", { mg: 25, timesPerDay: 1 });
    const cards = await order(ehrOn(today, NOW), "order-sign", "scn-paginated-labs", draft);
    expect(findings(cards)).toEqual([["refractory-ln-eligible", "info"]]);
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

  describe("docs/clinical-rules.md#8-ordering, version 2: values, history, duplicates and the summed dose", () => {
    const ehr = () => ehrOn(today, NOW);
    const only = (cards: readonly HookCard[], code: string) =>
      cards.filter((c) => c.extension?.["ln-cds"].finding === code);

    /** The demo keeps each dose scenario's draft order; an integrator sends it as draftOrders. */
    async function demoDraft(patientId: string): Promise<MedicationRequest> {
      const res = await fetch(`${today.url}/MedicationRequest/${patientId}-draft`);
      expect(res.status).toBe(200);
      return (await res.json()) as MedicationRequest;
    }

    function withDosage(patientId: string, dosage: unknown[]): MedicationRequest {
      return {
        ...iguratimodDraft(patientId),
        dosageInstruction: dosage,
      } as MedicationRequest;
    }

    it("patient 4 re-ordered at 25 mg twice daily: Hb 32 g/L is critical, the intolerance is critical, not eligible", async () => {
      for (const hook of ["order-select", "order-sign"] as const) {
        const cards = await order(ehr(), hook, "kang-04");
        expect(findings(cards)).toEqual([
          ["refractory-ln-not-eligible", "warning"],
          ["iguratimod-previously-tried", "critical"],
          ["lab-contraindication", "critical"],
        ]);
        const [lab] = only(cards, "lab-contraindication");
        expect(lab?.summary).toMatch(
          /^Do not start iguratimod: Hb 32 g\/L on \d{4}-\d\d-\d\d \(grade 3\)$/,
        );
        expect(lab?.extension?.["ln-cds"]).toMatchObject({
          grade: 3,
          evidence: ["Observation/kang-04-hb-w12"],
        });
        expect(lab?.suggestions?.[0]?.actions?.[0]).toMatchObject({ type: "delete" });
        const [tried] = only(cards, "iguratimod-previously-tried");
        expect(tried?.summary).toMatch(/^Iguratimod was stopped for intolerance before \(/);
        expect(tried?.detail).toContain("| course | days | outcome | stop reason |");
        expect(tried?.detail).toMatch(
          /\| intolerance; Hb 32 g\/L on \d{4}-\d\d-\d\d \(grade 3\) \|/,
        );
      }
    }, 60_000);

    it("Hb 75 g/L at order (was no card at all): lab-contraindication critical on both hooks", async () => {
      for (const hook of ["order-select", "order-sign"] as const) {
        const cards = await order(ehr(), hook, "scn-hb-75-at-order");
        expect(only(cards, "lab-contraindication").map((c) => c.indicator)).toEqual(["critical"]);
      }
      const sign = await order(ehr(), "order-sign", "scn-hb-75-at-order");
      expect(findings(sign)).toEqual([
        ["refractory-ln-eligible", "info"],
        ["lab-contraindication", "critical"],
      ]);
    }, 60_000);

    it("ALT 130 U/L (3.25 × ULN, grade 2) at order is a warning naming the value and date", async () => {
      const cards = await order(ehr(), "order-select", "scn-alt-grade2-at-order");
      expect(findings(cards)).toEqual([["lab-contraindication", "warning"]]);
      expect(cards[0]?.summary).toMatch(
        /^Before iguratimod: ALT 130 U\/L on \d{4}-\d\d-\d\d \(3\.3× ULN, grade 2\)$/,
      );
      expect(cards[0]?.detail).toContain("| test | date | result | CTCAE grade |");
    }, 60_000);

    it("a restart after grade-3 anaemia is critical even with Hb recovered; not eligible for a new start", async () => {
      const cards = await order(ehr(), "order-sign", "scn-restart-after-grade3-anaemia");
      expect(findings(cards)).toEqual([
        ["refractory-ln-not-eligible", "warning"],
        ["iguratimod-previously-tried", "critical"],
      ]);
      expect(cards[0]?.summary).toMatch(
        /^Not eligible for a new start: iguratimod already tried \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d: intolerance\)$/,
      );
      expect(cards[1]?.summary).toMatch(/Hb 74 g\/L; stopped: Grade 3 anaemia/);
    }, 60_000);

    it("an order after a failed iguratimod course is a warning; patient 8 (stopped for absent response) too", async () => {
      for (const patientId of ["scn-ordered-after-failed-course", "kang-08"]) {
        const cards = await order(ehr(), "order-sign", patientId);
        expect(findings(cards), patientId).toEqual([
          ["refractory-ln-not-eligible", "warning"],
          ["iguratimod-previously-tried", "warning"],
        ]);
        expect(cards[1]?.summary).toMatch(/^Iguratimod tried before and failed \(/);
      }
    }, 60_000);

    it("iguratimod already active: duplicate-therapy warning, eligibility silent, the draft can be removed", async () => {
      const cards = await order(ehr(), "order-select", "scn-iguratimod-active-reordered");
      expect(findings(cards)).toEqual([["duplicate-therapy", "warning"]]);
      expect(cards[0]?.summary).toMatch(
        /^Iguratimod is already active \(since \d{4}-\d\d-\d\d\): this order would duplicate it$/,
      );
      expect(cards[0]?.detail).toContain("| iguratimod | medication statement |");
      expect(cards[0]?.detail).not.toContain("scn-iguratimod-active-reordered-iguratimod");
      expect(cards[0]?.extension?.["ln-cds"].evidence).toEqual([
        "MedicationStatement/scn-iguratimod-active-reordered-iguratimod",
      ]);
    }, 60_000);

    it("the demo's two-line draft (25 mg twice daily + 50 mg once daily = 100 mg/day) is critical", async () => {
      const draft = await demoDraft("scn-dose-two-lines-100mg");
      const sign = await order(ehr(), "order-sign", "scn-dose-two-lines-100mg", draft);
      expect(findings(sign)).toEqual([
        ["refractory-ln-eligible", "info"],
        ["dose-check", "critical"],
      ]);
      const select = await order(ehr(), "order-select", "scn-dose-two-lines-100mg", draft);
      expect(findings(select)).toEqual([["dose-check", "critical"]]);
      expect(select[0]?.detail).toContain("| **total** | | **100 mg/day** |");
      // The detail opens with the dated fact it judges, in a table of at most four columns.
      expect(select[0]?.detail).toMatch(
        /^Draft order of \d{4}-\d\d-\d\d, read line by line:\n\n\| order \| as sent \| read as \|/,
      );
    }, 60_000);

    it("two drafts of 25 mg twice daily add up to 100 mg/day: critical, one card for both", async () => {
      const a = iguratimodDraft("scn-dose-two-lines-100mg");
      const b = { ...a, id: "draft-iguratimod-second" };
      const context: EhrContext = {
        userId: "Practitioner/e2e",
        patientId: "scn-dose-two-lines-100mg",
        draftOrders: {
          resourceType: "Bundle",
          type: "collection",
          entry: [{ resource: a }, { resource: b }],
        },
      };
      const res = await ehr().call(ID["order-sign"], "order-sign", context, { prefetch: false });
      expect(res.status).toBe(200);
      const cards = res.body.cards ?? [];
      expect(findings(cards)).toEqual([
        ["refractory-ln-eligible", "info"],
        ["dose-check", "critical"],
      ]);
      const dose = only(cards, "dose-check")[0];
      expect(dose?.summary).toBe(
        "Iguratimod 100 mg/day (2 drafts summed): twice the label maximum of 50 mg/day or more",
      );
      expect(dose?.suggestions?.[0]?.actions?.map((x) => x.type)).toEqual(["update", "delete"]);
    }, 60_000);

    it('the CDS Hooks Sandbox\'s draft, 1 {pill} of "Iguratimod 25 MG Oral Tablet" twice daily, is read as 50 mg/day', async () => {
      const draft = await demoDraft("scn-dose-sandbox-tablets");
      const cards = await order(ehr(), "order-sign", "scn-dose-sandbox-tablets", draft);
      expect(findings(cards)).toEqual([["refractory-ln-eligible", "info"]]);
      const doubled = structuredClone(draft);
      const q = doubled.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity;
      if (q) q.value = 2;
      const two = await order(ehr(), "order-select", "scn-dose-sandbox-tablets", doubled);
      expect(findings(two)).toEqual([["dose-check", "critical"]]);
      expect(two[0]?.detail).toContain("2 × 25 mg tablet = 50 mg × 2/day = **100 mg/day**");
    }, 60_000);

    it.each([
      [50, "info"],
      [50.1, "warning"],
      [99.9, "warning"],
      [100, "critical"],
    ] as const)(
      "%s mg once daily is %s",
      async (mg, indicator) => {
        const draft = iguratimodDraft("scn-dose-sandbox-tablets", { mg, timesPerDay: 1 });
        const cards = await order(ehr(), "order-sign", "scn-dose-sandbox-tablets", draft);
        expect(
          only(cards, "dose-check").map((c) => [
            c.indicator,
            c.summary.match(/[\d.]+ mg\/day/)?.[0],
          ]),
        ).toEqual([[indicator, `${mg} mg/day`]]);
      },
      60_000,
    );

    it.each([
      ["scn-order-hb-100", []],
      ["scn-order-hb-99-9", [["lab-contraindication", "warning"]]],
      ["scn-order-hb-80", [["lab-contraindication", "warning"]]],
      ["scn-order-hb-79-9", [["lab-contraindication", "critical"]]],
      ["scn-order-alt-120", []],
      ["scn-order-alt-121", [["lab-contraindication", "warning"]]],
      ["scn-order-alt-200", [["lab-contraindication", "warning"]]],
      ["scn-order-alt-201", [["lab-contraindication", "critical"]]],
    ] as const)(
      "at order, the latest value of %s gives %j (order-select)",
      async (id, expected) => {
        const cards = await order(ehrOn(past, NOW), "order-select", id);
        expect(findings(cards)).toEqual(expected);
      },
      60_000,
    );

    const dose = (value: number, period = 1) => [
      {
        timing: { repeat: { frequency: 2, period, periodUnit: "d" } },
        doseAndRate: [
          { doseQuantity: { value, unit: "mg", system: "http://unitsofmeasure.org", code: "mg" } },
        ],
      },
    ];
    it.each([
      ["zero", dose(0), '"0 mg, 2 per 1 d"'],
      ["negative", dose(-25), '"-25 mg, 2 per 1 d"'],
      ["1e308", dose(1e308), '"1e+308 mg, 2 per 1 d"'],
      ["a period of 0", dose(25, 0), '"25 mg, 2 per 0 d"'],
      [
        "a volume",
        [{ ...dose(5)[0], doseAndRate: [{ doseQuantity: { value: 5, unit: "mL", code: "mL" } }] }],
        '"5 mL, 2 per 1 d"',
      ],
    ])(
      "a draft dose that cannot be read (%s): warning quoting what was sent, no computed figure",
      async (_name, dosage, quoted) => {
        const draft = withDosage("scn-dose-sandbox-tablets", dosage);
        const cards = await order(ehr(), "order-select", "scn-dose-sandbox-tablets", draft);
        expect(findings(cards)).toEqual([["dose-check", "warning"]]);
        expect(cards[0]?.summary).toBe(`Iguratimod dose cannot be read: ${quoted}`);
        expect(JSON.stringify(cards)).not.toMatch(/Infinity|NaN|= \*\*-/);
      },
      60_000,
    );
  });
});
