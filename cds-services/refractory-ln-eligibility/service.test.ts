import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import {
  allFixtureBundles,
  chartAsOf,
  iguratimodDay0,
  patientBundle,
  resourcesOf,
} from "../../fixtures/index.js";
import { LAB_CODES } from "../../src/clinical/codes.js";
import { testConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { defaultServices } from "../index.js";
import type { ServiceInput } from "../types.js";

const NOW = new Date("2026-01-15T12:00:00Z");
const bundles = allFixtureBundles(NOW);

/** A study patient's chart as it stood the day iguratimod was ordered, and that day. */
function beforeIguratimod(patientId: string): { resources: FhirResource[]; day0: Date } {
  const bundle = patientBundle(bundles, patientId);
  const t = iguratimodDay0(bundle);
  return {
    resources: resourcesOf(chartAsOf(bundle, t, { withoutIguratimod: true })),
    day0: new Date(t),
  };
}

const isProteinuria = (r: FhirResource) =>
  r.resourceType === "Observation" &&
  (r.code.coding ?? []).some((c) => {
    const kind = LAB_CODES.get(c.code ?? "")?.kind;
    return kind === "protein24h" || kind === "upcr";
  });

function eligibilityCards(
  env: Record<string, string>,
  patientId: string,
  chart: { resources: FhirResource[]; day0: Date },
) {
  const config = testConfig(env);
  const service = defaultServices(config).find((s) => s.id === "refractory-ln-eligibility");
  const input = {
    hook: "patient-view",
    context: { userId: "Practitioner/u", patientId },
    serviceId: "refractory-ln-eligibility",
    hookInstance: "x",
    data: {
      resources: {
        labs: chart.resources,
        patient: [],
        conditions: [],
        medicationStatements: [],
        medicationRequests: [],
      },
      unavailable: [],
      incomplete: [],
    },
    now: chart.day0,
    config,
    logger: createLogger("silent"),
  } as ServiceInput;
  const cards = service?.evaluate(input).cards ?? [];
  return cards.map((c) => ({
    finding: (c.extension?.["ln-cds"] as { finding: string } | undefined)?.finding,
    indicator: c.indicator,
    summary: c.summary,
    suggestions: (c.suggestions ?? []).map((s) => s.label),
  }));
}

describe("refractory-ln-eligibility: calm by default, every verdict with ELIGIBILITY_SHOW_ALL=true", () => {
  const all = { ELIGIBILITY_SHOW_ALL: "true" };

  it("an eligible patient (study patient 2) gets the info card either way", () => {
    const chart = beforeIguratimod("kang-02");
    for (const env of [{}, all]) {
      expect(eligibilityCards(env, "kang-02", chart).map((c) => [c.finding, c.indicator])).toEqual([
        ["refractory-ln-eligible", "info"],
      ]);
    }
  });

  it("a not-eligible patient (study patient 11, one prior agent) is silent unless all verdicts are asked for", () => {
    const chart = beforeIguratimod("kang-11");
    expect(eligibilityCards({}, "kang-11", chart)).toEqual([]);
    const shown = eligibilityCards(all, "kang-11", chart);
    expect(shown.map((c) => [c.finding, c.indicator])).toEqual([
      ["refractory-ln-not-eligible", "info"],
    ]);
    expect(shown[0]?.summary).toMatch(/^Not refractory LN by kang2020: no /);
  });

  it("without proteinuria in the last 90 days the verdict is undecided: silent by default, else an info card offering the 24-h urine protein", () => {
    const full = beforeIguratimod("kang-02");
    const chart = { ...full, resources: full.resources.filter((r) => !isProteinuria(r)) };
    expect(eligibilityCards({}, "kang-02", chart)).toEqual([]);
    const shown = eligibilityCards(all, "kang-02", chart);
    expect(shown.map((c) => [c.finding, c.indicator])).toEqual([
      ["refractory-ln-insufficient-data", "info"],
    ]);
    expect(shown[0]?.summary).toMatch(/^Refractory-LN eligibility undecided: missing data on /);
    expect(shown[0]?.suggestions).toHaveLength(1);
    expect(shown[0]?.suggestions[0]).toBe("Order 24-hour urine protein");
  });
});
