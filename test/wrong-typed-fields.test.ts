/**
 * Resource fields of the wrong JSON type (docs/clinical-rules.md#1-facts,
 * docs/cds-contract.md#requests-and-errors): a number where a dateTime belongs, null in a list of
 * codings, an object where a string belongs. Each field of one resource of each type of a study
 * patient on an iguratimod course (and each field of a draft iguratimod order) is replaced in
 * turn by values of other JSON types, and every service is called in-process: none may throw
 * anything but a 400 naming the field, so one malformed resource never hides the other cards.
 * A field of the wrong type is read as a missing or unreadable one: the same notes and cards.
 */
import type {
  FhirResource,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
} from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { draftIguratimodOrder, medicationRequest } from "../fixtures/build.js";
import { patientPrefetch, studyPatientResources } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { HookRuntime } from "../src/hooks/runtime.js";
import { OperationOutcomeError } from "../src/outcomes.js";
import type { CdsService } from "../cds-services/types.js";

const NOW = new Date();
const PATIENT = "kang-04";
const DAY = 86_400_000;
/** Hemoglobin (calculated), as the study fixtures code it. */
const HB_LOINC = "20509-6";
const config = testConfig({});
const runtime = new HookRuntime({
  config,
  logger: createLogger("silent"),
  services: defaultServices(config),
  clock: () => NOW,
  saveFeedback: () => Promise.reject(new Error("no feedback in this test")),
});

/** An ongoing iguratimod order of the chart, named by a contained Medication. */
const ongoing: MedicationRequest = medicationRequest(
  {
    id: "kang-04-iguratimod-now",
    patientId: PATIENT,
    medicationReference: "#igu",
    start: new Date(NOW.getTime() - 20 * DAY).toISOString(),
  },
  {
    contained: [
      {
        resourceType: "Medication",
        id: "igu",
        code: {
          coding: [
            { system: "urn:oid:2.16.840.1.113883.3.9999.1", code: "IGU25", display: "iguratimod" },
          ],
          text: "Iguratimod 25 mg tablet",
        },
      } as Medication,
    ],
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 2, period: 1, periodUnit: "d" } },
        doseAndRate: [{ doseQuantity: { value: 25, unit: "mg" } }],
      },
    ],
  },
);

/** A glucocorticoid with a dose, as the response cards read it. */
const prednisone: MedicationStatement = {
  resourceType: "MedicationStatement",
  id: "kang-04-prednisone",
  status: "active",
  subject: { reference: `Patient/${PATIENT}` },
  medicationCodeableConcept: {
    coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "8640" }],
    text: "prednisone",
  },
  effectivePeriod: { start: new Date(NOW.getTime() - 30 * DAY).toISOString() },
  dosage: [
    {
      timing: { repeat: { frequency: 1, period: 1, periodUnit: "d" } },
      doseAndRate: [{ doseQuantity: { value: 10, unit: "mg", code: "mg" } }],
    },
  ],
};

const CHART: readonly FhirResource[] = [
  ...studyPatientResources(PATIENT, NOW),
  ongoing,
  prednisone,
];
const DRAFT = draftIguratimodOrder(PATIENT);

/**
 * The same draft named by a contained Medication with an ingredient strength, dosed in tablets
 * (a range) by a timing code: the other fields the order check reads.
 */
const { medicationCodeableConcept: _concept, ...draftFields } = DRAFT;
const TABLET_DRAFT: MedicationRequest = {
  ...draftFields,
  medicationReference: { reference: "#m", display: "Iguratimod 25 mg tablet" },
  contained: [
    {
      resourceType: "Medication",
      id: "m",
      code: { coding: [{ code: "IGU25", display: "iguratimod" }], text: "iguratimod" },
      ingredient: [
        {
          itemCodeableConcept: { text: "iguratimod" },
          strength: {
            numerator: { value: 25, unit: "mg", code: "mg" },
            denominator: { value: 1, unit: "tablet" },
          },
        },
      ],
    } as Medication,
  ],
  dosageInstruction: [
    {
      sequence: 1,
      text: "1 tablet twice daily",
      timing: { code: { coding: [{ code: "BID" }] } },
      doseAndRate: [
        {
          doseRange: {
            low: { value: 1, code: "732936001", system: "http://snomed.info/sct" },
            high: { value: 1, code: "{tbl}", unit: "tablet" },
          },
        },
      ],
    },
  ],
};

/** One resource of each type, and the latest Observation of each code. */
function picked(): FhirResource[] {
  const out: FhirResource[] = [];
  const codes = new Set<string>();
  for (const r of [...CHART].reverse()) {
    if (r.resourceType === "Observation") {
      const code = r.code.coding?.[0]?.code ?? "";
      if (codes.has(code)) continue;
      codes.add(code);
    }
    out.push(r);
  }
  return out;
}

type Path = readonly (string | number)[];

/** Every field path of a JSON value (objects and arrays too), the root excepted. */
function pathsOf(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (at.length > 0) out.push(at);
  if (typeof v === "object" && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      pathsOf(x, [...at, Array.isArray(v) ? Number(k) : k], out);
    }
  }
  return out;
}

function withValue<T>(resource: T, path: Path, value: unknown): T {
  const copy = structuredClone(resource);
  let o = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1) as string | number] = structuredClone(value);
  return copy;
}

/** Values of every other JSON type (a string and a number for each, an object and an array). */
const BAD: readonly unknown[] = [123, null, "x", {}, [1]];

function body(service: CdsService, chart: readonly FhirResource[], draft: MedicationRequest) {
  const hook = service.hooks[0] ?? "patient-view";
  return {
    hook,
    hookInstance: crypto.randomUUID(),
    context: {
      userId: "Practitioner/u1",
      patientId: PATIENT,
      ...(hook === "patient-view"
        ? {}
        : {
            draftOrders: {
              resourceType: "Bundle",
              type: "collection",
              entry: [{ resource: draft }],
            },
            ...(hook === "order-select"
              ? { selections: [`MedicationRequest/${DRAFT.id ?? ""}`] }
              : {}),
          }),
    },
    prefetch: patientPrefetch(chart, Object.keys(service.prefetch)),
  };
}

/** What went wrong calling every service: "" when each answered or refused with a 400 naming the field. */
async function failuresOf(
  chart: readonly FhirResource[],
  draft: MedicationRequest,
  field: string,
): Promise<string[]> {
  const out: string[] = [];
  for (const service of runtime.services) {
    try {
      await runtime.invoke(service, body(service, chart, draft));
    } catch (e) {
      if (!(e instanceof OperationOutcomeError)) out.push(`${service.id}: ${String(e)}`);
      // A key whose only resource names no patient of this hook counts as failed: without a
      // fhirServer that is the 412 of docs/cds-contract.md#whose-data.
      else if (e.status === 412 && /\.subject(\.reference)?$/.test(field)) continue;
      else if (e.status !== 400) out.push(`${service.id}: status ${e.status}`);
      else if (!JSON.stringify(e.outcome).includes(field))
        out.push(`${service.id}: 400 does not name ${field}: ${e.message}`);
    }
  }
  return out;
}

type Card = {
  summary: string;
  indicator: string;
  detail: string;
  extension: { "ln-cds": { evidence?: string[]; dataQuality?: string[] } };
};

async function cardsOf(serviceId: string, chart: readonly FhirResource[], draft = DRAFT) {
  const service = runtime.service(serviceId);
  if (!service) throw new Error(`no service ${serviceId}`);
  const res = await runtime.invoke(service, body(service, chart, draft));
  return res.cards as unknown as Card[];
}

function replaced(ref: string, change: (r: FhirResource) => FhirResource): FhirResource[] {
  return CHART.map((r) => (`${r.resourceType}/${r.id ?? ""}` === ref ? change(r) : r));
}

const latestOf = (loinc: string): Observation => {
  const o = picked().find(
    (r): r is Observation => r.resourceType === "Observation" && r.code.coding?.[0]?.code === loinc,
  );
  if (!o) throw new Error(`no Observation ${loinc}`);
  return o;
};

describe("resource fields of the wrong JSON type", () => {
  it("never make a service throw: every field of each resource type and of a draft", async () => {
    const failures = new Set<string>();
    let trials = 0;
    for (const target of picked()) {
      for (const path of pathsOf(target)) {
        if (path[0] === "resourceType" || path[0] === "id") continue;
        for (const bad of BAD) {
          const chart = CHART.map((r) => (r === target ? withValue(r, path, bad) : r));
          const field = `${target.resourceType}.${path.join(".")}`;
          for (const f of await failuresOf(chart, DRAFT, field)) failures.add(`${field}: ${f}`);
          trials += 1;
        }
      }
    }
    for (const draft of [DRAFT, TABLET_DRAFT]) {
      for (const path of pathsOf(draft)) {
        if (path[0] === "resourceType") continue;
        for (const bad of BAD) {
          const field = path[0] === "id" ? "id" : String(path.at(-1));
          for (const f of await failuresOf(CHART, withValue(draft, path, bad), field))
            failures.add(`draft.${path.join(".")}=${JSON.stringify(bad)}: ${f}`);
          trials += 1;
        }
      }
    }
    expect(trials).toBeGreaterThan(500);
    expect([...failures]).toEqual([]);
  });

  it("an Observation time that is a number is noted as not a FHIR dateTime, never used", async () => {
    const hb = latestOf(HB_LOINC);
    const ref = `Observation/${hb.id ?? ""}`;
    const chart = replaced(
      ref,
      (r) => ({ ...r, effectiveDateTime: 20261201 }) as unknown as FhirResource,
    );
    const cards = await cardsOf("iguratimod-safety", chart);
    const noted = cards.filter((c) => c.extension["ln-cds"].dataQuality?.includes(ref));
    expect(noted.length, JSON.stringify(cards)).toBeGreaterThan(0);
    for (const c of cards) expect(c.extension["ln-cds"].evidence ?? []).not.toContain(ref);
    expect(noted[0]?.detail).toContain(
      "hemoglobin: effective time is not a FHIR dateTime: not used",
    );
  });

  it("a hemoglobin value sent as a string is noted as implausible, never graded", async () => {
    const hb = latestOf(HB_LOINC);
    const ref = `Observation/${hb.id ?? ""}`;
    const chart = replaced(ref, (r) => {
      const o = structuredClone(r) as Observation;
      (o.valueQuantity as { value: unknown }).value = "32";
      return o;
    });
    const cards = await cardsOf("iguratimod-safety", chart);
    const noted = cards.filter((c) => c.extension["ln-cds"].dataQuality?.includes(ref));
    expect(noted.length, JSON.stringify(cards)).toBeGreaterThan(0);
    for (const c of cards) expect(c.extension["ln-cds"].evidence ?? []).not.toContain(ref);
    expect(noted[0]?.detail).toContain('hemoglobin: implausible value "32": not used');
  });

  it("a medication whose coding is null reads as one whose codes are missing", async () => {
    // The ongoing order's contained Medication: coding [null] and no text leave nothing to
    // recognise iguratimod by; the cards are those of the same chart without the codes.
    const ref = `MedicationRequest/${ongoing.id ?? ""}`;
    const withCode = (code: unknown) =>
      replaced(ref, (r) => {
        const m = structuredClone(r) as MedicationRequest;
        (m.contained as unknown[])[0] = { resourceType: "Medication", id: "igu", code };
        return m;
      });
    for (const id of ["iguratimod-response", "iguratimod-safety", "iguratimod-order-check"]) {
      const bad = await cardsOf(id, withCode({ coding: [null] }));
      const missing = await cardsOf(id, withCode({}));
      const view = (cs: Card[]) => cs.map((c) => [c.summary, c.indicator]);
      expect(view(bad), id).toEqual(view(missing));
    }
  });

  it("a draft dose that is null or not a number gives the dose-cannot-be-read card", async () => {
    const line = DRAFT.dosageInstruction?.[0];
    for (const doseAndRate of [
      [null],
      [{ doseQuantity: { value: "25", unit: "mg" } }],
      [{ doseQuantity: 25 }],
    ]) {
      const draft = {
        ...DRAFT,
        dosageInstruction: [{ ...line, doseAndRate }],
      } as MedicationRequest;
      const cards = await cardsOf("iguratimod-order-check", CHART, draft);
      expect(
        cards.map((c) => c.summary),
        JSON.stringify(doseAndRate),
      ).toContainEqual(expect.stringMatching(/^Iguratimod dose cannot be read/));
    }
  });
});

describe("the fuzzed charts and drafts as sent", () => {
  it("are read: the prednisone dose and the tablet draft's dose", async () => {
    const cards = await cardsOf("iguratimod-order-check", CHART, TABLET_DRAFT);
    expect(cards.map((c) => c.summary).join(" | ")).not.toMatch(/cannot be read|not stated/);
    const response = await cardsOf("iguratimod-response", CHART);
    expect(JSON.stringify(response)).toMatch(/prednisone/i);
  });
});

describe("a prefetch Bundle of the wrong shape", () => {
  const safety = () => {
    const s = runtime.service("iguratimod-safety");
    if (!s) throw new Error("no iguratimod-safety");
    return s;
  };

  it("skips entries that are not resources and reads the others", async () => {
    const request = body(safety(), CHART, DRAFT);
    const labs = request.prefetch.labs as { entry: unknown[] };
    labs.entry.unshift(null, 7, { resource: 123 }, { resource: { id: "no-type" } });
    const res = await runtime.invoke(safety(), request);
    const cards = res.cards as unknown as Card[];
    expect(cards.find((c) => c.summary.startsWith("Anaemia"))?.indicator).toBe("critical");
  });

  it("whose entry is not a list is a failed key, never an empty one (412 without a server)", async () => {
    for (const entry of [123, { resource: null }, "x"]) {
      const request = body(safety(), CHART, DRAFT);
      (request.prefetch.labs as { entry: unknown }).entry = entry;
      const error: unknown = await runtime.invoke(safety(), request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(entry)).toBeInstanceOf(OperationOutcomeError);
      expect((error as OperationOutcomeError).status).toBe(412);
      expect((error as OperationOutcomeError).message).toContain("labs");
    }
  });
});
