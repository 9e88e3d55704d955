/**
 * The CDS Hooks runtime in process, with no HTTP at all: a body object in, the answer or an
 * OperationOutcomeError out. The FHIR server is a reader over patient 4's fixture data that logs
 * each read, and the alert sink logs each raise, so the order of the pipeline can be seen:
 * parse → resolve prefetch → evaluate → record alerts → answer.
 */
import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { defaultServices } from "../../cds-services/index.js";
import { studyPatientResources } from "../../fixtures/index.js";
import type { AlertRaiseOutcome, AlertSink, SafetyAlertInput } from "../alerts/types.js";
import { testConfig } from "../config.js";
import type { FhirReader } from "../fhir/reader.js";
import { createLogger } from "../log.js";
import { OperationOutcomeError } from "../outcomes.js";
import type { ReaderFactory } from "./prefetch.js";
import { ALERT_NOT_RECORDED, HookRuntime } from "./runtime.js";

const NOW = new Date("2026-01-15T12:00:00Z");
const FHIR = "http://fhir.test/r4";
const config = testConfig({ FHIR_SERVER_ALLOWLIST: new URL(FHIR).origin });
const patient4 = studyPatientResources("kang-04", NOW);

/** A FHIR server holding patient 4: each read and search is logged in `events`. */
function fixtureReader(events: string[]): ReaderFactory {
  const ofType = (url: string): FhirResource[] => {
    const type = url.split(/[/?]/)[0];
    return patient4.filter((r) => r.resourceType === type);
  };
  const reader: FhirReader = {
    search(url) {
      events.push(`search ${url.split("?")[0] ?? ""}`);
      return Promise.resolve({ resources: ofType(url), complete: true, pages: 1 });
    },
    read(url) {
      events.push(`read ${url.split("/")[0] ?? ""}`);
      return Promise.resolve(ofType(url)[0]);
    },
    continueBundle() {
      return Promise.reject(new Error("no paging in this test"));
    },
  };
  return () => reader;
}

/** A sink that logs each raise and answers `outcome` once `release` is called. */
function controlledSink(events: string[], outcome: AlertRaiseOutcome) {
  const raised: SafetyAlertInput[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sink: AlertSink = {
    async raise(alerts, source) {
      events.push(`raise ${String(alerts.length)} from ${source}`);
      raised.push(...alerts);
      await released;
      events.push("raise done");
      return outcome;
    },
  };
  return { sink, raised, release };
}

function runtimeWith(events: string[], sink?: AlertSink): HookRuntime {
  return new HookRuntime({
    config,
    logger: createLogger("silent"),
    services: defaultServices(config),
    clock: () => NOW,
    saveFeedback: () => Promise.reject(new Error("no feedback in this test")),
    readerFactory: fixtureReader(events),
    ...(sink !== undefined ? { alertSink: sink } : {}),
  });
}

const patientView = {
  hook: "patient-view",
  hookInstance: "3f1c2a9e-7d4b-4e8a-9c61-5b2d0e8f4a17",
  fhirServer: FHIR,
  context: { userId: "Practitioner/u1", patientId: "kang-04" },
};

/** A `fhirAuthorization` as an EHR sends it, naming no patient. */
const FHIR_TOKEN = {
  access_token: "abc.def",
  token_type: "Bearer",
  expires_in: 300,
  scope: "patient/*.read",
  subject: "cds-service",
};

async function refusal(promise: () => Promise<unknown>): Promise<OperationOutcomeError> {
  try {
    await promise();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error("the call was not refused");
}

describe("the CDS Hooks runtime, without HTTP", () => {
  it("refuses a bad body with an OperationOutcomeError before any data is read", async () => {
    const events: string[] = [];
    const runtime = runtimeWith(events);
    const safety = runtime.service("iguratimod-safety");
    if (safety === undefined) throw new Error("no iguratimod-safety");

    const noInstance = await refusal(() =>
      runtime.invoke(safety, { ...patientView, hookInstance: undefined }),
    );
    expect(noInstance.status).toBe(400);
    expect(noInstance.outcome.issue.map((i) => i.expression)).toEqual([["hookInstance"]]);

    const otherHook = await refusal(() =>
      runtime.invoke(safety, { ...patientView, hook: "order-sign" }),
    );
    expect(otherHook.status).toBe(400);
    expect(otherHook.outcome.issue[0]?.diagnostics).toBe(
      'the service "iguratimod-safety" does not serve the hook "order-sign"',
    );

    const badContext = await refusal(() =>
      runtime.invoke(safety, { ...patientView, context: { userId: "u1", patientId: "kang-04" } }),
    );
    expect(badContext.outcome.issue[0]?.expression).toEqual(["context.userId"]);

    expect((await refusal(() => runtime.invoke(safety, [patientView]))).status).toBe(400);

    // A FHIR token issued for another patient than the context's.
    const otherToken = await refusal(() =>
      runtime.invoke(safety, {
        ...patientView,
        fhirAuthorization: { ...FHIR_TOKEN, patient: "kang-02" },
      }),
    );
    expect(otherToken.status).toBe(400);
    expect(otherToken.outcome.issue.map((i) => i.expression)).toEqual([
      ["fhirAuthorization.patient"],
    ]);
    expect(otherToken.outcome.issue[0]?.diagnostics).toContain("another patient");
    expect(events).toEqual([]); // nothing was read for any of them
  });

  it("reads with a FHIR token for the context's patient, or one that names no patient", async () => {
    for (const fhirAuthorization of [{ ...FHIR_TOKEN, patient: "kang-04" }, FHIR_TOKEN]) {
      const events: string[] = [];
      const runtime = runtimeWith(events);
      const safety = runtime.service("iguratimod-safety");
      if (safety === undefined) throw new Error("no iguratimod-safety");
      const answer = await runtime.invoke(safety, { ...patientView, fhirAuthorization });
      expect(answer.cards.map((c) => c.source.topic?.code)).toEqual(["anemia"]);
      expect(events.length).toBeGreaterThan(0);
    }
  });

  it("reads the data, evaluates, records the alerts, and only then answers", async () => {
    const events: string[] = [];
    const { sink, raised, release } = controlledSink(events, "recorded");
    const runtime = runtimeWith(events, sink);
    const safety = runtime.service("iguratimod-safety");
    if (safety === undefined) throw new Error("no iguratimod-safety");

    let answered = false;
    const answer = runtime.invoke(safety, patientView).then((res) => {
      answered = true;
      return res;
    });
    for (let i = 0; i < 50 && !events.some((e) => e.startsWith("raise ")); i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The sink holds its write: the answer waits for it.
    expect(answered).toBe(false);
    expect(events.slice(0, -1).every((e) => /^(read|search) /.test(e))).toBe(true);
    expect(new Set(events.slice(0, -1))).toEqual(
      new Set([
        "read Patient",
        "search Observation",
        "search MedicationStatement",
        "search MedicationRequest",
      ]),
    );
    expect(events.at(-1)).toBe("raise 2 from patient-view");
    expect(raised.map((a) => [a.rule, a.severity, a.patient])).toEqual([
      ["anemia", "warning", "Patient/kang-04"],
      ["anemia", "critical", "Patient/kang-04"],
    ]);

    release();
    const { cards } = await answer;
    expect(events.at(-1)).toBe("raise done");
    expect(cards.map((c) => [c.source.topic?.code, c.indicator])).toEqual([["anemia", "critical"]]);
    expect(cards[0]?.detail).not.toContain("Safety team not notified");
  });

  it.each(["queued", "failed"] as const)(
    "says first on the finding's card that the safety team was not notified when the alert is %s",
    async (outcome) => {
      const events: string[] = [];
      const { sink, release } = controlledSink(events, outcome);
      release();
      const runtime = runtimeWith(events, sink);
      const safety = runtime.service("iguratimod-safety");
      if (safety === undefined) throw new Error("no iguratimod-safety");

      const { cards } = await runtime.invoke(safety, patientView);
      expect(events.slice(-2)).toEqual(["raise 2 from patient-view", "raise done"]);
      expect(cards).toHaveLength(1);
      expect(cards[0]?.detail).toMatch(
        outcome === "queued"
          ? /^\*\*Safety team not yet notified\.\*\* .* will be sent once the database is back\./
          : /^\*\*Safety team not notified\.\*\* .* no alert will be sent for it\./,
      );
      // The rest of the card is the card the service made.
      const recorded = await runtimeWith([]).invoke(safety, patientView);
      expect(cards[0]?.detail).toBe(
        `${ALERT_NOT_RECORDED[outcome]}\n\n${recorded.cards[0]?.detail ?? ""}`,
      );
      expect(cards[0]?.summary).toBe(recorded.cards[0]?.summary);
    },
  );

  it("answers no cards, reading nothing, when the request gives the service nothing to judge", async () => {
    const events: string[] = [];
    const runtime = runtimeWith(events);
    const safety = runtime.service("iguratimod-safety");
    const orderSign = runtime.service("iguratimod-order-sign");
    if (safety === undefined || orderSign === undefined) throw new Error("no services");

    const noPatient = await runtime.invoke(safety, {
      ...patientView,
      context: { userId: "Practitioner/u1" },
    });
    expect(noPatient).toEqual({ cards: [] });
    const emptyDraft = await runtime.invoke(orderSign, {
      ...patientView,
      hook: "order-sign",
      context: {
        ...patientView.context,
        draftOrders: {
          resourceType: "Bundle",
          entry: [{ resource: { resourceType: "MedicationRequest", id: "d1", status: "draft" } }],
        },
      },
    });
    expect(emptyDraft).toEqual({ cards: [] });
    expect(events).toEqual([]);
  });

  it("refuses draft orders whose subject names another patient, reading nothing", async () => {
    const events: string[] = [];
    const runtime = runtimeWith(events);
    const orderSign = runtime.service("iguratimod-order-sign");
    const orderSelect = runtime.service("iguratimod-order-select");
    if (orderSign === undefined || orderSelect === undefined) throw new Error("no services");
    const draft = (id: string, who: Record<string, unknown>) => ({
      resource: {
        resourceType: "MedicationRequest",
        id,
        status: "draft",
        intent: "order",
        medicationCodeableConcept: { text: "iguratimod 25 mg tablet" },
        ...who,
      },
    });
    const orderCall = (hook: string, entry: unknown[]) => ({
      ...patientView,
      hook,
      context: {
        ...patientView.context,
        ...(hook === "order-select" ? { selections: ["MedicationRequest/d0"] } : {}),
        draftOrders: { resourceType: "Bundle", type: "collection", entry },
      },
    });

    const entries = [
      draft("d0", { subject: { reference: "Patient/kang-04" } }),
      draft("d1", { subject: { reference: "https://ehr.example/fhir/Patient/kang-02" } }),
      draft("d2", {}),
      draft("d3", { patient: { reference: "Patient/kang-03/_history/2" } }),
    ];
    for (const [service, hook] of [
      [orderSign, "order-sign"],
      [orderSelect, "order-select"],
    ] as const) {
      const refused = await refusal(() => runtime.invoke(service, orderCall(hook, entries)));
      expect(refused.status).toBe(400);
      expect(refused.outcome.issue.map((i) => [i.code, i.expression])).toEqual([
        ["invalid", ["context.draftOrders.entry[1].resource.subject"]],
        ["invalid", ["context.draftOrders.entry[3].resource.patient"]],
      ]);
      expect(refused.outcome.issue[0]?.diagnostics).toContain("another patient");
    }
    // Even a draft with nothing to judge (no medication) is refused when it names another patient.
    const bare = {
      resource: {
        resourceType: "MedicationRequest",
        status: "draft",
        subject: { reference: "Patient/kang-02" },
      },
    };
    expect(
      (await refusal(() => runtime.invoke(orderSign, orderCall("order-sign", [bare])))).status,
    ).toBe(400);
    expect(events).toEqual([]);

    // This patient's drafts, relative, absolute or with no subject at all, are judged as before.
    const own = await runtime.invoke(
      orderSign,
      orderCall("order-sign", [
        entries[0],
        entries[2],
        draft("d4", { subject: { reference: "http://fhir.test/r4/Patient/kang-04" } }),
      ]),
    );
    expect(own.cards.length).toBeGreaterThan(0);
  });
});
