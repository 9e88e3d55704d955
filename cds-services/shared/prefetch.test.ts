import type { FhirResource, MedicationRequest, Observation } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab, medicationRequest } from "../../fixtures/build.js";
import { defaultThresholds } from "../../src/clinical/index.js";
import type { ResolvedPrefetch } from "../types.js";
import { allResources, medicationResources, patientDataOf } from "./prefetch.js";

const NOW = new Date("2026-01-15T12:00:00Z");

const hemoglobin = (value: number, extra: Partial<Observation> = {}): Observation =>
  lab(
    { id: "hb-1", patientId: "p1", loinc: "718-7", at: "2026-01-10T08:00:00Z", value, unit: "g/L" },
    extra,
  );

function prefetch(resources: Record<string, FhirResource[]>): ResolvedPrefetch {
  return { resources, unavailable: [], incomplete: [] };
}

/** One MedicationRequest, active, and its later version updated to stopped. */
function activeThenStopped(): { base: MedicationRequest; stopped: MedicationRequest } {
  const base = medicationRequest(
    { id: "mr-1", patientId: "p1", start: "2025-12-01" },
    { meta: { lastUpdated: "2026-01-01T00:00:00Z" } },
  );
  const stopped: MedicationRequest = {
    ...base,
    status: "stopped",
    meta: { lastUpdated: "2026-01-12T00:00:00Z" },
  };
  return { base, stopped };
}

describe("allResources: one copy of each resource, in its latest version", () => {
  const first = hemoglobin(80, { meta: { versionId: "1" } });
  const corrected = hemoglobin(85, { status: "corrected", meta: { versionId: "2" } });

  it("a corrected result sent after the original wins, whichever key or order brings it", () => {
    for (const data of [
      prefetch({ labs: [first, corrected] }),
      prefetch({ labs: [corrected, first] }),
      prefetch({ labs: [first], moreLabs: [corrected] }),
      prefetch({ labs: [corrected], moreLabs: [first] }),
    ]) {
      const { facts, resources } = patientDataOf(
        { data, now: NOW, context: { patientId: "p" } },
        defaultThresholds,
      );
      expect(facts.labs.map((l) => l.value)).toEqual([85]);
      expect(resources).toEqual([corrected]);
    }
  });

  it("a MedicationRequest updated to stopped replaces its active copy (lastUpdated decides)", () => {
    const { base, stopped } = activeThenStopped();
    expect(allResources(prefetch({ a: [stopped], b: [base] }))).toEqual([stopped]);
    expect(allResources(prefetch({ a: [base], b: [stopped] }))).toEqual([stopped]);
  });

  it("keeps the first of two identical copies and leaves resources without id alone", () => {
    const a = hemoglobin(80);
    const b = hemoglobin(80);
    const { id: _id, ...anonymous } = hemoglobin(90);
    const out = allResources(prefetch({ labs: [a, anonymous], again: [b, anonymous] }));
    expect(out).toHaveLength(3);
    expect(out[0]).toBe(a);
    expect(out.filter((r) => r === anonymous)).toHaveLength(2);
  });

  it("drops an excluded resource (the draft order) but keeps others of its type", () => {
    const other = hemoglobin(80, { id: "hb-2" });
    const out = allResources(
      prefetch({ labs: [hemoglobin(80), other] }),
      new Set(["Observation/hb-1"]),
    );
    expect(out).toEqual([other]);
  });
});

describe("medicationResources: the statements and requests of the medication keys", () => {
  it("one copy of each, in its latest version, and none of the labs", () => {
    const { base, stopped } = activeThenStopped();
    const data = prefetch({
      labs: [hemoglobin(80)],
      medicationRequests: [base, stopped],
      medicationStatements: [],
    });
    expect(medicationResources(data)).toEqual([stopped]);
    // The same as the medication resources of allResources, in the same order.
    expect(medicationResources(data)).toEqual(
      allResources(data).filter((r) => r.resourceType !== "Observation"),
    );
    expect(medicationResources(prefetch({ labs: [hemoglobin(80)] }))).toEqual([]);
  });
});
