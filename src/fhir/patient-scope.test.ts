import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { patientIdOf, scopeToPatient, templateType } from "./patient-scope.js";
import { seeded } from "../../test/support/seeded.js";

const obs = (id: string, reference?: string): FhirResource => ({
  resourceType: "Observation",
  id,
  status: "final",
  code: { text: "Hb" },
  ...(reference !== undefined ? { subject: { reference } } : {}),
});

describe("whose data: a resource belongs to the hook's patient only by its own reference", () => {
  it.each([
    ["Patient/p1", "p1"],
    ["https://ehr.example/fhir/Patient/p1", "p1"],
    ["Patient/p1/_history/3", "p1"],
    ["http://x/fhir/Patient/p1/_history/3", "p1"],
    ["Patient/p1x", "p1x"],
    ["Group/p1", undefined],
    ["#p1", undefined],
    ["Patient/", undefined],
  ])("%s names patient %s", (reference, id) => {
    expect(patientIdOf(reference)).toBe(id);
  });

  it("keeps this patient's resources of the key's type and Medications; counts the rest by why", () => {
    const scoped = scopeToPatient(
      "labs",
      [
        obs("a", "Patient/p1"),
        obs("b", "https://ehr.example/fhir/Patient/p1"),
        obs("c", "Patient/p2"),
        obs("d", "Patient/p2"),
        obs("e"),
        obs("f", "Patient/p10"),
        { resourceType: "Patient", id: "p1" },
        { resourceType: "Medication", id: "m1" },
        { resourceType: "OperationOutcome", issue: [] },
      ],
      "Observation",
      "p1",
    );
    expect(scoped.kept.map((r) => r.id)).toEqual(["a", "b", "m1"]);
    expect(scoped.keptOfType).toBe(2);
    expect(scoped.ofType).toBe(6);
    expect(scoped.dropped).toEqual([
      { key: "labs", resourceType: "Observation", reason: "other-patient", count: 3 },
      { key: "labs", resourceType: "Observation", reason: "no-subject", count: 1 },
      { key: "labs", resourceType: "Patient", reason: "wrong-type", count: 1 },
    ]);
  });

  it("a patient id that is no FHIR id is read through the reference pattern, never matched as text", () => {
    // "Patient/a/_history/1" names patient "a"; a context id spelled like it is no one's.
    for (const patientId of ["a/_history/1", "", "x".repeat(65), "p 1"]) {
      const scoped = scopeToPatient(
        "labs",
        [obs("a", `Patient/${patientId}`)],
        "Observation",
        patientId,
      );
      expect(scoped.kept, JSON.stringify(patientId)).toEqual([]);
    }
    const longest = "x".repeat(64);
    expect(
      scopeToPatient("labs", [obs("a", `Patient/${longest}`)], "Observation", longest).kept,
    ).toHaveLength(1);
  });

  it("a Patient belongs by its own id", () => {
    const other = scopeToPatient(
      "patient",
      [{ resourceType: "Patient", id: "p2" }],
      "Patient",
      "p1",
    );
    expect(other.keptOfType).toBe(0);
    const own = scopeToPatient("patient", [{ resourceType: "Patient", id: "p1" }], "Patient", "p1");
    expect(own.keptOfType).toBe(1);
  });

  it("keeps what the plain rule keeps, in order, and leaves the given list as it was", () => {
    const next = seeded(7).below;
    const made: (() => FhirResource)[] = [
      () => obs("own", "Patient/p1"),
      () => obs("own-absolute", "https://ehr.example/fhir/Patient/p1"),
      () => obs("other", "Patient/p2"),
      () => obs("none"),
      () => ({ resourceType: "Medication", id: "m" }),
      () => ({ resourceType: "OperationOutcome", issue: [] }),
      () =>
        ({
          resourceType: "Condition",
          id: "c",
          subject: { reference: "Patient/p1" },
        }) as FhirResource,
    ];
    for (let round = 0; round < 300; round++) {
      // Mostly this patient's, so lists kept whole are tried as well as lists with a first
      // resource left out anywhere.
      const list = Array.from({ length: next(12) }, () =>
        (made[next(3) === 0 ? next(made.length) : 0] as () => FhirResource)(),
      );
      const given = [...list];
      const scoped = scopeToPatient("labs", list, "Observation", "p1");
      const plain = list.filter(
        (r) =>
          r.resourceType === "Medication" ||
          (r.resourceType === "Observation" && (r.id === "own" || r.id === "own-absolute")),
      );
      expect(scoped.kept).toEqual(plain);
      expect(list).toEqual(given);
      expect(scoped.keptOfType).toBe(plain.filter((r) => r.resourceType === "Observation").length);
      expect(scoped.seen).toBe(list.some((r) => r.resourceType !== "OperationOutcome"));
    }
    // Only a search's warnings, or nothing: no resource was seen.
    const warning: FhirResource = { resourceType: "OperationOutcome", issue: [] };
    expect(scopeToPatient("labs", [warning, warning], "Observation", "p1").seen).toBe(false);
    expect(scopeToPatient("labs", [], "Observation", "p1").seen).toBe(false);
  });

  it("reads the type a template asks for", () => {
    expect(templateType("Observation?patient={{context.patientId}}")).toBe("Observation");
    expect(templateType("Patient/{{context.patientId}}")).toBe("Patient");
  });
});
