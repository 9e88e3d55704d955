/**
 * The official CDS Hooks 2.0 request examples (docs/cds-contract.md#real-clients: every one must
 * be accepted as the spec says), sent as they are to every ln-cds service of their hook.
 */
import { readFileSync } from "node:fs";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { responseViolations } from "../src/hooks/validate-response.js";
import { protocolApp } from "./support/protocol-app.js";

const EXAMPLES = "test/cds-hooks-2.0-examples/";
const example = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as Record<string, unknown>;

function app() {
  const services = defaultServices(testConfig({}));
  return { services, ...protocolApp({ services }) };
}

describe("the spec's request with an extension (request-with-extension.json)", () => {
  // It illustrates the `extension` member on a patient-view request, and its context holds the
  // user only: the patient-view hook's patientId is left out. ln-cds takes it as a patient-view
  // call with no patient in context: accepted, nothing to judge, no cards.
  const body = example("request-with-extension.json");

  it("is a patient-view request whose context names no patient", () => {
    expect(body.hook).toBe("patient-view");
    expect(body.context).toEqual({ userId: "Practitioner/example" });
    expect(body.extension).toBeDefined();
  });

  it("is accepted by every patient-view service: 200, no cards, a valid response", async () => {
    const { services, app: built, logs } = app();
    const patientView = services.filter((s) => s.hooks.includes("patient-view"));
    expect(patientView.length).toBeGreaterThan(0);
    for (const service of patientView) {
      const res = await request(built).post(`/cds-services/${service.id}`).send(body);
      expect(res.status, `${service.id}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body).toEqual({ cards: [] });
      expect(responseViolations(res.body)).toEqual([]);
    }
    // Said in the log, so that an operator can tell an EHR that sends no patient.
    expect(logs.text()).toContain("no patientId");
  });

  it("still refuses a patient-view context whose userId is missing, or a patientId that is no id", async () => {
    const { app: built } = app();
    for (const context of [{}, { userId: "Practitioner/example", patientId: 42 }]) {
      const res = await request(built)
        .post("/cds-services/iguratimod-safety")
        .send({ ...body, context });
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe("OperationOutcome");
    }
  });
});
