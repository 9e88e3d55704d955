import { describe, expect, it } from "vitest";
import { defaultServices, discoveryOf, registryProblems } from "../../cds-services/index.js";
import { testConfig } from "../config.js";
import { testService } from "../../test/support/test-service.js";
import { assertPathStaysPut } from "../fhir/fhir-kit-reader.js";
import { discoveryResponseSchema } from "./schemas.js";
import { fillTemplate, isReadTemplate, keyState, tokenValues, unknownTokens } from "./prefetch.js";

describe("prefetch templates", () => {
  it("fills every CDS Hooks 2.0 token from the context", () => {
    const values = tokenValues({ patientId: "p1", encounterId: "e1", userId: "Practitioner/u1" });
    expect(
      fillTemplate(
        "X?patient={{context.patientId}}&encounter={{context.encounterId}}&user={{context.userId}}&pr={{userPractitionerId}}",
        values,
      ),
    ).toBe("X?patient=p1&encounter=e1&user=Practitioner%2Fu1&pr=u1");
  });

  it.each([
    ["PractitionerRole/r1", "userPractitionerRoleId", "r1"],
    ["Patient/pa1", "userPatientId", "pa1"],
    ["RelatedPerson/rp1", "userRelatedPersonId", "rp1"],
  ])("derives the user token from userId %s", (userId, token, id) => {
    expect(fillTemplate(`X?u={{${token}}}`, tokenValues({ userId }))).toBe(`X?u=${id}`);
  });

  it("URL-encodes substituted values", () => {
    expect(
      fillTemplate("Observation?patient={{context.patientId}}", { "context.patientId": "a&b=c d" }),
    ).toBe("Observation?patient=a%26b%3Dc%20d");
  });

  it.each([".", ".."])("gives no URL for a value %j that would change the path", (id) => {
    const values = tokenValues({ patientId: id });
    expect(fillTemplate("Patient/{{context.patientId}}", values)).toBeUndefined();
    expect(fillTemplate("Observation?patient={{context.patientId}}", values)).toBeUndefined();
  });

  it.each([
    "Patient/..",
    "Patient/.",
    "Patient/%2E%2e",
    "./Patient",
    "http://elsewhere/Patient/1",
    "//elsewhere/x",
  ])("the FHIR reader refuses %j before any request", (url) => {
    expect(() => {
      assertPathStaysPut(url);
    }).toThrow(/refused/);
  });

  it("the FHIR reader lets ordinary ids and searches through", () => {
    for (const url of [
      "Patient/kang-04",
      "Patient/a.b",
      "Observation?patient=..&code=http://loinc.org|718-7",
    ])
      expect(() => {
        assertPathStaysPut(url);
      }).not.toThrow();
  });

  it("gives no URL when a token has no value in the request", () => {
    expect(
      fillTemplate("Encounter/{{context.encounterId}}", tokenValues({ patientId: "p1" })),
    ).toBeUndefined();
  });

  it("reports tokens CDS Hooks 2.0 does not define", () => {
    expect(
      unknownTokens(
        "Observation?patient={{context.patientId}}&x={{context.medicationRequestId}}&y={{today}}",
      ),
    ).toEqual(["context.medicationRequestId", "today"]);
  });

  it("tells reads from searches", () => {
    expect(isReadTemplate("Patient/123")).toBe(true);
    expect(isReadTemplate("Observation?patient=123")).toBe(false);
    expect(isReadTemplate("Observation")).toBe(false);
  });
});

describe("prefetch key states", () => {
  it("tells present, null, OperationOutcome (failed), non-resource (failed) and absent apart", () => {
    const prefetch = {
      a: { resourceType: "Patient", id: "1" },
      b: null,
      c: { resourceType: "OperationOutcome", issue: [] },
      d: "123",
    };
    expect(keyState(prefetch, "a").kind).toBe("present");
    expect(keyState(prefetch, "b").kind).toBe("none");
    expect(keyState(prefetch, "c").kind).toBe("failed");
    expect(keyState(prefetch, "d").kind).toBe("failed");
    expect(keyState(prefetch, "e").kind).toBe("absent");
    expect(keyState(undefined, "a").kind).toBe("absent");
  });
});

describe("the service registry", () => {
  const services = [...defaultServices(testConfig()), testService()];

  it("every registered service's templates use only CDS Hooks 2.0 tokens, and the registry is sound", () => {
    expect(registryProblems(services)).toEqual([]);
  });

  it("catches an unknown token, a duplicate id and a required key without template", () => {
    const bad = testService({
      prefetch: { x: "Observation?patient={{patient.id}}" },
      requiredPrefetch: ["y"],
    });
    expect(registryProblems([bad, testService()])).toEqual([
      'test-prefetch-echo: prefetch "x" uses {{patient.id}}, which is not a CDS Hooks 2.0 token',
      'test-prefetch-echo: required prefetch "y" has no template',
      "test-prefetch-echo: the id is used twice",
    ]);
  });

  it("discovery of the whole registry has the shape its schema declares", () => {
    const parsed = discoveryResponseSchema.safeParse(discoveryOf(services));
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data?.services.map((e) => e.id)).toContain("iguratimod-safety");
  });

  it("discovery lists one entry per (service, hook)", () => {
    const entries = discoveryOf([testService()]).services;
    expect(entries.map((e) => e.hook)).toEqual(["patient-view", "order-select", "order-sign"]);
    expect(new Set(entries.map((e) => e.id))).toEqual(new Set(["test-prefetch-echo"]));
  });
});
