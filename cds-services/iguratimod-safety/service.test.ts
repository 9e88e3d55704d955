import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { studyPatientBundles } from "../../fixtures/index.js";
import { testConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { defaultServices } from "../index.js";
import type { ServiceInput } from "../types.js";

const NOW = new Date("2026-01-15T12:00:00Z");

function patient4(): FhirResource[] {
  const bundle = studyPatientBundles(NOW).find((b) =>
    (b.entry ?? []).some((e) => e.resource?.id === "kang-04"),
  );
  return (bundle?.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));
}

async function safetyCards(env: Record<string, string>) {
  const config = testConfig(env);
  const service = defaultServices(config).find((s) => s.id === "iguratimod-safety");
  const rs = patient4();
  const input = {
    hook: "patient-view",
    context: { userId: "Practitioner/u", patientId: "kang-04" },
    serviceId: "iguratimod-safety",
    hookInstance: "x",
    data: {
      resources: { labs: rs, patient: [], medicationStatements: [], medicationRequests: [] },
      unavailable: [],
      incomplete: [],
    },
    now: NOW,
    config,
    logger: createLogger("silent"),
  } as ServiceInput;
  return (await service?.evaluate(input)) ?? [];
}

describe("iguratimod-safety with site thresholds (CLINICAL_THRESHOLDS)", () => {
  it("judges patient 4's Hb 32 g/L as grade 3 by default and grade 2 when the site sets grade 3 below 30 g/L", async () => {
    const byDefault = await safetyCards({});
    expect(byDefault.map((c) => [c.indicator, c.extension?.["ln-cds"]])).toEqual([
      ["critical", expect.objectContaining({ finding: "anemia", grade: 3 })],
    ]);
    const site = await safetyCards({ CLINICAL_THRESHOLDS: '{"anemiaGrade3Below": 30}' });
    expect(site.map((c) => [c.indicator, c.extension?.["ln-cds"]])).toEqual([
      ["warning", expect.objectContaining({ finding: "anemia", grade: 2 })],
    ]);
    expect(site[0]?.detail).toContain("Hb < 30");
  });
});
