/**
 * iguratimod-response on the study patients' charts as they stood at week 24 (day 175), so the
 * verdict card itself (not the later follow-up) is what the clinician sees.
 */
import { describe, expect, it } from "vitest";
import { medicationStatement } from "../../fixtures/build.js";
import {
  chartAsOf,
  iguratimodDay0,
  patientBundle,
  resourcesOf,
  studyPatientBundles,
} from "../../fixtures/index.js";
import { testConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { DAY_MS, withOverrides, type Thresholds } from "../../src/clinical/index.js";
import { defaultServices } from "../index.js";
import type { ServiceInput } from "../types.js";
import { iguratimodResponseService } from "./service.js";

const REF = new Date("2026-01-15T00:00:00Z");
const bundles = studyPatientBundles(REF);

function cardAtDay(patientId: string, day: number, thresholds?: Thresholds) {
  const b = patientBundle(bundles, patientId);
  const now = new Date(iguratimodDay0(b) + day * DAY_MS);
  const resources = resourcesOf(chartAsOf(b, now.getTime()));
  const config = testConfig({});
  const input = {
    hook: "patient-view",
    context: { userId: "Practitioner/u", patientId },
    serviceId: "iguratimod-response",
    hookInstance: "x",
    data: { resources: { labs: resources }, unavailable: [], incomplete: [] },
    now,
    config,
    logger: createLogger("silent"),
  } as ServiceInput;
  const { cards } = iguratimodResponseService(thresholds ? { thresholds } : {}).evaluate(input);
  expect(cards).toHaveLength(1);
  return cards[0];
}

const lnCds = (card: Awaited<ReturnType<typeof cardAtDay>>) =>
  card?.extension?.["ln-cds"] as { finding: string; criteria?: Record<string, string> } | undefined;

describe("iguratimod-response at week 24", () => {
  it("patient 3: partial response, with baseline → week-24 proteinuria and the change in the summary", () => {
    const card = cardAtDay("kang-03", 175);
    expect(card?.indicator).toBe("info");
    expect(card?.summary).toMatch(
      /^Week-24 partial response to iguratimod: proteinuria [\d.]+ → [\d.]+ g\/24h \(−\d+ %\)$/,
    );
    expect(card?.extension?.["ln-cds"]).toMatchObject({
      finding: "week24-partial-response",
      criteria: { kang2020: "PR" },
    });
    expect(card?.detail).toMatch(
      /^Week-24 assessment on \d{4}-\d\d-\d\d: kang2020 \*\*PR\*\*, kdigo2024 (CR|PR|NR|insufficient-data)\./,
    );
  });

  it("patient 2: complete response", () => {
    const card = cardAtDay("kang-02", 175);
    expect(card?.summary).toMatch(/^Week-24 complete response to iguratimod: proteinuria /);
    expect(lnCds(card)?.criteria).toMatchObject({ kang2020: "CR" });
  });

  it("patient 3 at week 8: an interim card with weeks on drug and the change so far", () => {
    const card = cardAtDay("kang-03", 60);
    expect(lnCds(card)?.finding).toBe("response-interim");
    expect(card?.summary).toMatch(/^Iguratimod week 8: proteinuria [\d.]+ → [\d.]+ (g\/24h|g\/g)/);
  });
});

describe("iguratimod-response with site thresholds", () => {
  it("the criteria on the card show the site's values, and follow a change of them", () => {
    const criteriaOf = (t?: Thresholds) =>
      (cardAtDay("kang-03", 175, t)?.detail ?? "").split("**Criteria**")[1] ?? "";
    expect(criteriaOf()).toContain("| kang2020 | protein < 0.3 g/24h, creatinine ≤ ULN");
    const site = withOverrides({ crProteinBelow: 0.5, kdigoEgfrMaxFallFraction: 0.2 });
    const text = criteriaOf(site);
    expect(text).toContain("| kang2020 | protein < 0.5 g/24h, creatinine ≤ ULN");
    expect(text).toContain("eGFR ≤ 20 % below baseline");
    expect(criteriaOf(site)).toBe(text);
    // The same thresholds object with a value changed in place: the text is written anew.
    (site.crProteinBelow as { value: number }).value = 0.4;
    expect(criteriaOf(site)).toContain("| kang2020 | protein < 0.4 g/24h, creatinine ≤ ULN");
    expect(criteriaOf()).toContain("| kang2020 | protein < 0.3 g/24h, creatinine ≤ ULN");
  });

  it("CLINICAL_THRESHOLDS courseMergeGapDays reaches the normaliser: a 40-day pause splits or joins the course", () => {
    const now = new Date("2026-01-15T12:00:00Z");
    const ago = (d: number) => new Date(now.getTime() - d * DAY_MS).toISOString();
    const statement = (id: string, start: number, end?: number) =>
      medicationStatement({
        id,
        patientId: "p",
        start: ago(start),
        ...(end === undefined ? {} : { end: ago(end) }),
      });
    const resources = [
      { resourceType: "Patient" as const, id: "p", gender: "female" as const },
      statement("igu-1", 130, 90),
      statement("igu-2", 50),
    ];
    const summaryWith = (env: Record<string, string>) => {
      const config = testConfig(env);
      const service = defaultServices(config).find((x) => x.id === "iguratimod-response");
      const input = {
        hook: "patient-view",
        context: { userId: "Practitioner/u", patientId: "p" },
        serviceId: "iguratimod-response",
        hookInstance: "x",
        data: { resources: { medicationStatements: resources }, unavailable: [], incomplete: [] },
        now,
        config,
        logger: createLogger("silent"),
      } as ServiceInput;
      return service?.evaluate(input).cards[0]?.summary;
    };
    // Default gap 30 days: the course restarted 50 days ago (week 7).
    expect(summaryWith({})).toBe("Iguratimod week 7");
    // A site gap of 60 days joins both statements into one course started 130 days ago.
    expect(summaryWith({ CLINICAL_THRESHOLDS: '{"courseMergeGapDays": 60}' })).toBe(
      "Iguratimod week 18",
    );
  });
});
