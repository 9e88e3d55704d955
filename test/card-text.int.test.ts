/**
 * Every card of every demo patient, as a clinician sees it (docs/clinical-rules.md#9-cards): the
 * demo FHIR server holds every fixture, a small EHR calls every service of discovery for every
 * patient (patient-view; order-select and order-sign with a draft iguratimod order), and each
 * card's visible text is checked mechanically (test/support/card-text.ts).
 */
import type { Bundle, FhirResource } from "fhir/r4.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles, resourcesOf } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { normalisePatient } from "../src/fhir/normalise/index.js";
import { cardTextViolations, markdownTables } from "./support/card-text.js";
import { iguratimodDraft, MiniEhr, type HookCard } from "./support/mini-ehr.js";
import { protocolApp } from "./support/protocol-app.js";

const NOW = new Date();

let fhir: RunningFhirServer;
let ehr: MiniEhr;
let bundles: Bundle[];

beforeAll(async () => {
  bundles = allFixtureBundles(NOW);
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

function patientOf(b: Bundle): { id: string; resources: FhirResource[] } {
  const resources = resourcesOf(b);
  const id = resources.find((r) => r.resourceType === "Patient")?.id ?? "";
  return { id, resources };
}

/** Every card of one patient from every discovery entry. */
async function allCards(patientId: string): Promise<{ service: string; card: HookCard }[]> {
  const out: { service: string; card: HookCard }[] = [];
  for (const entry of await ehr.services()) {
    const order = entry.hook === "order-select" || entry.hook === "order-sign";
    const draft = iguratimodDraft(patientId);
    const context = {
      userId: "Practitioner/card-text",
      patientId,
      ...(order
        ? {
            ...(entry.hook === "order-select"
              ? { selections: [`MedicationRequest/${draft.id ?? ""}`] }
              : {}),
            draftOrders: {
              resourceType: "Bundle",
              type: "collection",
              entry: [{ resource: draft }],
            } as Bundle,
          }
        : {}),
    };
    const res = await ehr.call(entry.id, entry.hook, context, { prefetch: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    for (const card of res.body.cards ?? [])
      out.push({ service: `${entry.id}/${entry.hook}`, card });
  }
  return out;
}

describe("the card text checks themselves", () => {
  it("find a six-column table, a header-less table, a resource id, 38.9851 µmol/L and an internal document", () => {
    const card: HookCard = {
      uuid: "u",
      summary: "Creatinine 38.9851 µmol/L; alt 60",
      indicator: "info",
      detail: [
        "| a | b | c | d | e | f |",
        "|---|---|---|---|---|---|",
        "| 1 | 2 | 3 | 4 | 5 | 6 |",
        "",
        "| | |",
        "|---|---|",
        "| x | y |",
        "",
        "Observation/kang-04-hb-w12 per ln-cds clinical rules §7",
      ].join("\n"),
      source: { label: "ln-cds" },
    };
    const v = cardTextViolations(card, { resourceIds: ["kang-04-hb-w12"], labs: [] });
    expect(v.join("\n")).toMatch(/more than 0 decimals/);
    expect(v.join("\n")).toMatch(/a table of 6 columns/);
    expect(v.join("\n")).toMatch(/a table without a header row/);
    expect(v.join("\n")).toMatch(/resource id "kang-04-hb-w12"/);
    expect(v.join("\n")).toMatch(/internal document/);
    expect(v.join("\n")).toMatch(/"alt" in lower case/);
    expect(markdownTables(card.detail ?? "")).toHaveLength(2);
  });
});

describe("every card of every demo patient reads as a clinician needs (§9)", () => {
  const patients = allFixtureBundles(NOW).map(patientOf);
  for (const p of patients) {
    it(`${p.id}: every service's cards`, async () => {
      const cards = await allCards(p.id);
      const facts = normalisePatient(p.resources, NOW, { patientId: p.id });
      const ctx = {
        resourceIds: p.resources.flatMap((r) => (r.id ? [r.id] : [])),
        labs: facts.labs,
      };
      const faults = cards.flatMap(({ service, card }) =>
        cardTextViolations(card, ctx).map((v) => `${service} ${v}`),
      );
      expect(
        faults,
        cards.map((c) => `${c.service}\n${c.card.summary}\n${c.card.detail ?? ""}`).join("\n\n"),
      ).toEqual([]);
    });
  }
});
