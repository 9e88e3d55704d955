import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { medicationStatement } from "../../fixtures/build.js";
import { DAY_MS, labObservation } from "../../fixtures/fhir.js";
import { studyPatientBundles } from "../../fixtures/index.js";
import { testConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { defaultServices } from "../index.js";
import type { ServiceInput } from "../types.js";
import { iguratimodSafetyService } from "./service.js";

const NOW = new Date("2026-01-15T12:00:00Z");

function patient4(): FhirResource[] {
  const bundle = studyPatientBundles(NOW).find((b) =>
    (b.entry ?? []).some((e) => e.resource?.id === "kang-04"),
  );
  return (bundle?.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));
}

function safetyCards(env: Record<string, string>, rs: FhirResource[] = patient4()) {
  const config = testConfig(env);
  const service = defaultServices(config).find((s) => s.id === "iguratimod-safety");
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
  return service?.evaluate(input).cards ?? [];
}

describe("iguratimod-safety with site thresholds (CLINICAL_THRESHOLDS)", () => {
  it("judges patient 4's Hb 32 g/L as grade 3 by default and grade 2 when the site sets grade 3 below 30 g/L", () => {
    const byDefault = safetyCards({});
    expect(byDefault.map((c) => [c.indicator, c.extension?.["ln-cds"]])).toEqual([
      ["critical", expect.objectContaining({ finding: "anemia", grade: 3 })],
    ]);
    const site = safetyCards({ CLINICAL_THRESHOLDS: '{"anemiaGrade3Below": 30}' });
    expect(site.map((c) => [c.indicator, c.extension?.["ln-cds"]])).toEqual([
      ["warning", expect.objectContaining({ finding: "anemia", grade: 2 })],
    ]);
    expect(site[0]?.detail).toContain("Hb < 30");
  });
});

/** A woman on iguratimod for 60 days whose ALT was already above ULN (40 U/L) before day 0. */
function raisedBaselineAlt(latestAlt: number): FhirResource[] {
  const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY_MS).toISOString();
  const lab = (id: string, loinc: string, daysAgo: number, value: number, unit: string) =>
    labObservation({
      id,
      patientId: "p-alt",
      loinc,
      display: loinc,
      effectiveDateTime: at(daysAgo),
      value,
      unit,
    });
  return [
    { resourceType: "Patient", id: "p-alt", gender: "female", birthDate: "1985-05-01" },
    medicationStatement({ id: "p-alt-igu", patientId: "p-alt", start: at(60) }),
    lab("alt-base", "1742-6", 65, 46, "U/L"),
    lab("alt-now", "1742-6", 5, latestAlt, "U/L"),
    lab("hb-now", "718-7", 5, 130, "g/L"),
  ];
}

describe("iguratimod-safety: ALT against a baseline above ULN", () => {
  it("grades ALT at exactly 1.5 × the baseline as grade 1 (info) and shows the rule; just below it, no card", () => {
    const cards = safetyCards({}, raisedBaselineAlt(69)); // 1.5 × 46
    expect(cards).toHaveLength(1);
    const card = cards[0];
    expect(card?.indicator).toBe("info");
    expect(card?.source.topic).toMatchObject({
      system: "urn:ln-cds:finding",
      code: "liver-injury",
    });
    expect(card?.source.url).toMatch(/^https:\/\//);
    expect(card?.extension?.["ln-cds"]).toMatchObject({
      finding: "liver-injury",
      grade: 1,
      evidence: expect.arrayContaining(["Observation/alt-now", "Observation/alt-base"]),
    });
    expect(card?.detail).toContain("| 69 U/L |");
    expect(card?.detail).toContain("grade 1 from 1.5× baseline");

    expect(safetyCards({}, raisedBaselineAlt(68.9))).toEqual([]);
  });
});

describe("iguratimod-safety alerts when the EHR has no Patient resource to give", () => {
  it("name the patient of the hook's context, not an empty reference", () => {
    const service = iguratimodSafetyService();
    const withoutPatient = patient4().filter((r) => r.resourceType !== "Patient");
    const { cards, alerts } = service.evaluate({
      hook: "patient-view",
      context: { userId: "Practitioner/u", patientId: "kang-04" },
      serviceId: "iguratimod-safety",
      hookInstance: "x",
      data: {
        resources: {
          labs: withoutPatient,
          patient: [], // the patient key came as null: no data
          medicationStatements: [],
          medicationRequests: [],
        },
        unavailable: [],
        incomplete: [],
      },
      now: NOW,
      config: testConfig({}),
      logger: createLogger("silent"),
    });
    expect(cards.map((c) => c.indicator)).toEqual(["critical"]);
    expect(alerts?.map((a) => a.patient)).toEqual(["Patient/kang-04", "Patient/kang-04"]);
    // Each alert names the finding of its card (the runtime's "not notified" note goes there).
    expect(alerts?.map((a) => a.rule)).toEqual(["anemia", "anemia"]);
    expect(cards[0]?.source.topic?.code).toBe("anemia");
  });
});

describe("iguratimod-safety after the stop", () => {
  it("names a value measured after the stop 'after iguratimod', in the summary and the topic", () => {
    const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY_MS).toISOString();
    const hb = (id: string, daysAgo: number, value: number) =>
      labObservation({
        id,
        patientId: "p-stop",
        loinc: "718-7",
        display: "Hemoglobin",
        effectiveDateTime: at(daysAgo),
        value,
        unit: "g/L",
      });
    const stoppedTenDaysAgo: FhirResource[] = [
      { resourceType: "Patient", id: "p-stop", gender: "female", birthDate: "1985-05-01" },
      medicationStatement({ id: "p-stop-igu", patientId: "p-stop", start: at(90), end: at(10) }),
      hb("hb-base", 92, 125),
      hb("hb-after", 2, 75),
    ];
    const cards = safetyCards({}, stoppedTenDaysAgo);
    const anaemia = cards.find((c) => c.source.topic?.code === "anemia");
    expect(anaemia?.summary).toMatch(/^Anaemia after iguratimod \(stopped /);
    expect(anaemia?.source.topic?.display).toBe("Anaemia after iguratimod");
  });
});
