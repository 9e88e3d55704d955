/**
 * iguratimod-safety over HTTP against the demo FHIR server holding the fixtures dated today:
 * patient 4's critical anaemia, an overdue-monitoring scenario, and a calm patient.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { allFixtureBundles } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { protocolApp } from "./support/protocol-app.js";

const NOW = new Date("2026-01-15T12:00:00Z");
let fhir: RunningFhirServer;

beforeAll(async () => {
  fhir = await startFhirServer({ bundles: allFixtureBundles(NOW) });
});
afterAll(async () => {
  await fhir.close();
});

async function safetyCards(patientId: string) {
  const env = {
    FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
    PREFETCH_BUDGET_MS: "20000",
    FHIR_TIMEOUT_MS: "20000",
  };
  const { app } = protocolApp({
    env,
    services: defaultServices(testConfig(env)),
    clock: () => NOW,
  });
  const res = await request(app)
    .post("/cds-services/iguratimod-safety")
    .send({
      hook: "patient-view",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      fhirServer: fhir.url,
      context: { userId: "Practitioner/u1", patientId },
    });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(responseViolations(res.body)).toEqual([]);
  return res.body.cards as {
    indicator: string;
    summary: string;
    detail: string;
    extension: { "ln-cds": { finding: string; evidence: string[]; grade?: number } };
  }[];
}

describe("iguratimod-safety", () => {
  it("shows patient 4's latest hemoglobin (32 g/L) as critical grade-3 anaemia with its evidence", async () => {
    const cards = await safetyCards("kang-04");
    const anemia = cards.find((c) => c.extension["ln-cds"].finding === "anemia");
    expect(anemia?.indicator).toBe("critical");
    expect(anemia?.extension["ln-cds"].grade).toBe(3);
    expect(anemia?.extension["ln-cds"].evidence).toContain("Observation/kang-04-hb-w12");
    expect(anemia?.detail).toContain("32");
  });

  it("says monitoring is overdue when the last hemoglobin and ALT are 60 days old", async () => {
    const cards = await safetyCards("scn-monitoring-overdue");
    expect(cards.map((c) => c.extension["ln-cds"].finding)).toContain("monitoring-overdue");
  });

  it("stays silent for a patient on iguratimod with normal, recent labs", async () => {
    expect(await safetyCards("kang-02")).toEqual([]);
  });
});
