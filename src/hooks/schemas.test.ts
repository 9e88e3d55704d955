import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  cdsRequestSchema,
  draftOrdersSchema,
  fhirAuthorizationSchema,
  feedbackRequestSchema,
  orderSelectContextSchema,
  orderSignContextSchema,
  parseHookContext,
  patientViewContextSchema,
} from "./schemas.js";

const EXAMPLES = "test/cds-hooks-2.0-examples/";
const example = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as Record<string, unknown>;
const contextOf = (file: string): unknown => example(file).context;

const index = JSON.parse(readFileSync(EXAMPLES + "INDEX.json", "utf8")) as { file: string }[];
const files = [...new Set(index.map((e) => e.file))];

describe("official CDS Hooks 2.0 examples", () => {
  it("every request, hook context and feedback example of the index is covered below", () => {
    const covered = [
      /^request-(patient-view|with-extension)/,
      /^hook-(patient-view|order-select|order-sign)-context/,
      /^hook-context-generic-example/,
      /^request-fragment-(context-patientId|context-encounterId-draftOrders|context-medicationRequestId|fhirAuthorization|prefetch-data)\.json$/,
      /^feedback-/,
    ];
    const messages = files.filter((f) => /^(request-|hook-|feedback-)/.test(f));
    expect(messages.length).toBe(19);
    expect(messages.filter((f) => !covered.some((re) => re.test(f)))).toEqual([]);
  });

  it.each(files.filter((f) => /^request-(patient-view|with-extension)/.test(f)))(
    "accepts the full request %s",
    (file) => {
      expect(cdsRequestSchema.safeParse(example(file)).success).toBe(true);
    },
  );

  it.each(files.filter((f) => /^hook-patient-view-context/.test(f)))(
    "accepts patient-view context %s",
    (file) => {
      expect(patientViewContextSchema.safeParse(contextOf(file)).success).toBe(true);
    },
  );

  it.each(files.filter((f) => /^hook-order-select-context/.test(f)))(
    "accepts order-select context %s",
    (file) => {
      expect(orderSelectContextSchema.safeParse(contextOf(file)).success).toBe(true);
    },
  );

  it.each(files.filter((f) => /^hook-order-sign-context/.test(f)))(
    "accepts order-sign context %s",
    (file) => {
      expect(orderSignContextSchema.safeParse(contextOf(file)).success).toBe(true);
    },
  );

  it("accepts the generic hook context example as a request context", () => {
    const request = {
      hook: "x",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      ...example("hook-context-generic-example.json"),
    };
    expect(cdsRequestSchema.safeParse(request).success).toBe(true);
  });

  it("accepts the request fragments (patientId, draftOrders, medicationRequestId, fhirAuthorization, prefetch data)", () => {
    expect(
      patientViewContextSchema.safeParse({
        userId: "Practitioner/1",
        ...(contextOf("request-fragment-context-patientId.json") as object),
      }).success,
    ).toBe(true);
    const draftContext = contextOf("request-fragment-context-encounterId-draftOrders.json") as {
      draftOrders: unknown;
    };
    expect(draftOrdersSchema.safeParse(draftContext.draftOrders).success).toBe(true);
    const mrContext = contextOf("request-fragment-context-medicationRequestId.json") as {
      draftOrders: unknown;
    };
    expect(draftOrdersSchema.safeParse(mrContext.draftOrders).success).toBe(true);
    expect(
      fhirAuthorizationSchema.safeParse(
        example("request-fragment-fhirAuthorization.json").fhirAuthorization,
      ).success,
    ).toBe(true);
    const withPrefetch = {
      hook: "patient-view",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      context: { userId: "Practitioner/1", patientId: "1" },
      ...example("request-fragment-prefetch-data.json"),
    };
    expect(cdsRequestSchema.safeParse(withPrefetch).success).toBe(true);
  });

  it.each(files.filter((f) => /^feedback-/.test(f)))("accepts feedback %s", (file) => {
    expect(feedbackRequestSchema.safeParse(example(file)).success).toBe(true);
  });
});

const baseRequest = {
  hook: "patient-view",
  hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
  context: { userId: "Practitioner/1", patientId: "p1" },
};

describe("request rules", () => {
  it("accepts a request without fhirAuthorization", () => {
    expect(
      cdsRequestSchema.safeParse({ ...baseRequest, fhirServer: "http://fhir.example.org" }).success,
    ).toBe(true);
  });

  it("refuses fhirAuthorization without fhirServer, naming fhirServer", () => {
    const auth = example("request-fragment-fhirAuthorization.json").fhirAuthorization;
    const result = cdsRequestSchema.safeParse({ ...baseRequest, fhirAuthorization: auth });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["fhirServer"]);
  });

  it("accepts a draft MedicationRequest with category and reasonCode as single objects", () => {
    const context = {
      userId: "Practitioner/1",
      patientId: "p1",
      draftOrders: {
        resourceType: "Bundle",
        entry: [
          {
            resource: {
              resourceType: "MedicationRequest",
              id: "d1",
              status: "draft",
              intent: "order",
              category: { text: "outpatient" },
              reasonCode: { text: "lupus nephritis" },
              medicationCodeableConcept: { text: "iguratimod 25 mg" },
              dosageInstruction: { text: "25 mg twice a day" },
            },
          },
        ],
      },
    };
    const result = orderSignContextSchema.safeParse(context);
    expect(result.success).toBe(true);
    const mr = result.data?.draftOrders.entry?.[0]?.resource as { dosageInstruction?: unknown[] };
    expect(mr.dosageInstruction).toEqual([{ text: "25 mg twice a day" }]);
  });

  it("accepts an empty order-select draft (no medication, no intent)", () => {
    const context = {
      userId: "Practitioner/1",
      patientId: "p1",
      selections: ["MedicationRequest/d1"],
      draftOrders: {
        resourceType: "Bundle",
        entry: [{ resource: { resourceType: "MedicationRequest", id: "d1", status: "draft" } }],
      },
    };
    expect(orderSelectContextSchema.safeParse(context).success).toBe(true);
  });

  it("refuses a draft MedicationRequest whose intent is not a string, with the path", () => {
    const context = {
      userId: "Practitioner/1",
      patientId: "p1",
      draftOrders: {
        resourceType: "Bundle",
        entry: [{ resource: { resourceType: "MedicationRequest", intent: 3 } }],
      },
    };
    const result = orderSignContextSchema.safeParse(context);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([
      "draftOrders",
      "entry",
      0,
      "resource",
      "intent",
    ]);
  });
});

describe("parseHookContext: a hook and its context, checked by that hook's schema", () => {
  const draftOrders = {
    resourceType: "Bundle",
    entry: [{ resource: { resourceType: "MedicationRequest", id: "d1", dosageInstruction: {} } }],
  };

  it("gives the hook with its parsed context, so the request is discriminated on hook", () => {
    const result = parseHookContext("order-select", {
      userId: "Practitioner/1",
      patientId: "p1",
      selections: ["MedicationRequest/d1"],
      draftOrders,
    });
    expect(result.success).toBe(true);
    if (!result.success || result.data.hook !== "order-select") throw new Error("not order-select");
    expect(result.data.context.selections).toEqual(["MedicationRequest/d1"]);
    // The parsed context, not the input: a single dosageInstruction is wrapped in an array.
    expect(result.data.context.draftOrders.entry?.[0]?.resource).toMatchObject({
      dosageInstruction: [{}],
    });
  });

  it("checks each hook's own fields: order-select needs selections, order-sign does not", () => {
    const context = { userId: "Practitioner/1", patientId: "p1", draftOrders };
    expect(parseHookContext("order-sign", context).success).toBe(true);
    const select = parseHookContext("order-select", context);
    expect(select.success).toBe(false);
    if (select.success) throw new Error("accepted");
    expect(select.error.issues.map((i) => i.path)).toEqual([["selections"]]);
    expect(parseHookContext("patient-view", { userId: "Practitioner/1" }).success).toBe(false);
  });
});

describe("fhirAuthorization.access_token", () => {
  const auth = (access_token: string) => ({
    access_token,
    token_type: "Bearer",
    expires_in: 300,
    scope: "patient/*.read",
    subject: "ln-cds",
  });
  it("accepts JWT-, base64- and opaque-style tokens", () => {
    for (const token of ["eyJhbGciOi.eyJzdWIi.c2ln-_", "abc+/def==", "opaque~token.1"]) {
      expect(fhirAuthorizationSchema.safeParse(auth(token)).success).toBe(true);
    }
  });
  it.each([
    ["a trailing newline", "token\n"],
    ["a CR", "to\rken"],
    ["DEL", "to\u007fken"],
    ["a tab", "to\tken"],
    ["NUL", "to\u0000ken"],
    ["a space", "to ken"],
    ["a Latin-1 letter", "tok\u00e9n"],
    ["a character above U+00FF", "to\u0100ken"],
    ["nothing", ""],
  ])("refuses a token with %s, naming the field", (_what, token) => {
    const parsed = cdsRequestSchema.safeParse({
      hook: "patient-view",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      fhirServer: "https://fhir.example.org/r4",
      fhirAuthorization: auth(token),
      context: {},
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join("."))).toEqual([
      "fhirAuthorization.access_token",
    ]);
  });
});

describe("feedback rules", () => {
  const item = {
    card: "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    outcomeTimestamp: "2021-12-11T10:05:31Z",
  };
  it("fb-1: refuses an accepted outcome without acceptedSuggestions", () => {
    expect(
      feedbackRequestSchema.safeParse({ feedback: [{ ...item, outcome: "accepted" }] }).success,
    ).toBe(false);
  });
  it("fb-2: refuses acceptedSuggestions on an overridden outcome", () => {
    const fb = { ...item, outcome: "overridden", acceptedSuggestions: [{ id: "a" }] };
    expect(feedbackRequestSchema.safeParse({ feedback: [fb] }).success).toBe(false);
  });
  it("fb-3: refuses overrideReason on an accepted outcome", () => {
    const fb = {
      ...item,
      outcome: "accepted",
      acceptedSuggestions: [{ id: "a" }],
      overrideReason: { userComment: "x" },
    };
    expect(feedbackRequestSchema.safeParse({ feedback: [fb] }).success).toBe(false);
  });
  it("refuses an outcomeTimestamp that is not a date-time", () => {
    expect(
      feedbackRequestSchema.safeParse({
        feedback: [{ ...item, outcome: "overridden", outcomeTimestamp: "yesterday" }],
      }).success,
    ).toBe(false);
  });
});
