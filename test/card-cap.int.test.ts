/**
 * Cards per answer are bounded (docs/cds-contract.md#cards): 500 draft iguratimod orders in one
 * order-sign call once gave 501 cards. The answer holds at most MAX_CARDS, critical ones first,
 * and the first card says how many were left out; checked at the route with a service that
 * makes 100 cards, whatever the order check itself now makes of many drafts.
 */
import { randomUUID } from "node:crypto";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { patientBundle, patientPrefetch, resourcesOf, scenarioBundles } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { capCards, MAX_CARDS } from "../src/hooks/card-cap.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { iguratimodDraft, type HookCard } from "./support/mini-ehr.js";
import { protocolApp } from "./support/protocol-app.js";
import { TEST_SERVICE_ID, testService } from "./support/test-service.js";

const NOW = new Date();
const PATIENT = "scn-warfarin-active";

describe("the number of cards in one answer", () => {
  it("500 draft orders: at most MAX_CARDS cards, the critical ones among them", async () => {
    const { app } = protocolApp({ services: defaultServices(testConfig({})), clock: () => NOW });
    const resources = resourcesOf(patientBundle(scenarioBundles(NOW), PATIENT));
    const drafts = Array.from({ length: 500 }, (_, i) => ({
      resource: {
        ...iguratimodDraft(PATIENT, { mg: 25 + (i % 3) * 25, timesPerDay: 2 }),
        id: `d${String(i)}`,
      },
    }));
    const res = await request(app)
      .post("/cds-services/iguratimod-order-sign")
      .send({
        hook: "order-sign",
        hookInstance: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        context: {
          userId: "Practitioner/u1",
          patientId: PATIENT,
          draftOrders: { resourceType: "Bundle", type: "collection", entry: drafts },
        },
        prefetch: patientPrefetch(resources, [
          "patient",
          "conditions",
          "labs",
          "medicationStatements",
          "medicationRequests",
        ]),
      });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(responseViolations(res.body)).toEqual([]);
    const cards = (res.body as { cards: HookCard[] }).cards;
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.length).toBeLessThanOrEqual(MAX_CARDS);
    expect(cards.some((c) => c.indicator === "critical")).toBe(true);
  });

  it("a service that makes 100 cards answers MAX_CARDS through the route: critical first, the rest counted", async () => {
    const made = Array.from({ length: 100 }, (_, i) => ({
      uuid: randomUUID(),
      summary: `finding ${String(i)}`,
      indicator: i % 10 === 9 ? ("critical" as const) : ("info" as const),
      source: { label: "ln-cds" },
    }));
    const { app } = protocolApp({ services: [testService({ cards: () => made })] });
    const res = await request(app)
      .post(`/cds-services/${TEST_SERVICE_ID}`)
      .send({
        hook: "patient-view",
        hookInstance: "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
        context: { userId: "Practitioner/u1", patientId: "p1" },
        prefetch: { patient: { resourceType: "Patient", id: "p1" }, observations: null },
      });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    const cards = (res.body as { cards: HookCard[] }).cards;
    expect(cards).toHaveLength(MAX_CARDS);
    expect(cards.slice(0, 10).every((c) => c.indicator === "critical")).toBe(true);
    expect(cards.slice(0, 10).map((c) => c.summary)).toEqual(
      made.filter((c) => c.indicator === "critical").map((c) => c.summary),
    );
    expect(cards[0]?.detail).toMatch(
      new RegExp(
        `80 further cards \\(80 info\\) were not shown: .* at most ${String(MAX_CARDS)} cards`,
      ),
    );
  });

  it("keeps the service's order within a level and says what was left out", () => {
    const card = (n: number, indicator: "info" | "warning" | "critical") => ({
      uuid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      summary: `card ${String(n)}`,
      indicator,
      source: { label: "ln-cds" },
    });
    const cards = [
      ...Array.from({ length: 30 }, (_, i) => card(i, "info")),
      card(30, "warning"),
      card(31, "critical"),
      card(32, "critical"),
    ];
    const kept = capCards(cards, 5);
    expect(kept.map((c) => c.summary)).toEqual([
      "card 31",
      "card 32",
      "card 30",
      "card 0",
      "card 1",
    ]);
    expect(kept[0]?.detail).toMatch(
      /28 further cards \(28 info\) were not shown: .* at most 5 cards/,
    );
    expect(capCards(cards.slice(0, 5), 5)).toEqual(cards.slice(0, 5));
  });
});
