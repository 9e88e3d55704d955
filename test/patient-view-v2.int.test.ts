/**
 * The patient-view findings of the clinician's review, each at the service level: the demo FHIR
 * server holds every fixture (dated today), a small EHR renders the prefetch and posts the hook
 * over HTTP (docs/clinical-rules.md#6-response, #7-safety; docs/cds-contract.md#alerts).
 */
import { createHash } from "node:crypto";
import type { Bundle } from "fhir/r4.js";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles, patientBundle } from "../fixtures/index.js";
import { startMonitor } from "../src/alerts/monitor.js";
import { createAlertSink } from "../src/alerts/sink.js";
import { defaultServices } from "../cds-services/index.js";
import { startAlerting } from "../src/alerts/runtime.js";
import { alertStore } from "../src/alerts/store.js";
import { createApp } from "../src/app.js";
import { testConfig } from "../src/config.js";
import { DAY_MS } from "../src/clinical/index.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { alertsRouter } from "../src/http/alerts-routes.js";
import { createLogger } from "../src/log.js";
import { alertStoreKinds, openAlertStore, startReceiver, until } from "./support/alert-stores.js";
import { MiniEhr, type HookCard } from "./support/mini-ehr.js";
import { protocolApp } from "./support/protocol-app.js";
import { storeKinds } from "./support/stores.js";
import { alertListingSchema } from "../src/alerts/wire.js";

const NOW = new Date();
const date = (daysAgo: number) =>
  new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate()) - daysAgo * DAY_MS)
    .toISOString()
    .slice(0, 10);

let fhir: RunningFhirServer;
let ehr: MiniEhr;
let bundles: Bundle[];

beforeAll(async () => {
  bundles = allFixtureBundles(NOW);
  fhir = await startFhirServer({ bundles });
  const env = { FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin };
  const { app } = protocolApp({
    env,
    services: defaultServices(testConfig(env)),
    clock: () => NOW,
  });
  ehr = new MiniEhr(app, fhir.url);
}, 60_000);

afterAll(async () => {
  await fhir.close();
});

async function cards(serviceId: string, patientId: string): Promise<HookCard[]> {
  const res = await ehr.call(
    serviceId,
    "patient-view",
    { userId: "Practitioner/v2", patientId },
    { prefetch: true },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.cards ?? [];
}

const finding = (c: HookCard | undefined) => c?.extension?.["ln-cds"].finding;
const loincs = (c: HookCard | undefined) =>
  (c?.suggestions ?? []).map(
    (s) =>
      (s.actions?.[0]?.resource as { code: { coding: { system: string; code: string }[] } }).code
        .coding[0],
  );
const visible = (cs: readonly HookCard[]) =>
  cs.map((c) => `${c.summary}\n${c.detail ?? ""}`).join("\n");

describe("a course stopped after the assessment window opened (iguratimod-stopped)", () => {
  it("scn-stopped-after-week24: the week-24 CR, the stop date and reason (adverse event: warning), never 'on iguratimod' after it", async () => {
    const [card] = await cards("iguratimod-response", "scn-stopped-after-week24");
    expect(finding(card)).toBe("iguratimod-stopped");
    expect(card?.indicator).toBe("warning");
    expect(card?.summary).toBe(
      `Iguratimod stopped on ${date(40)} after week-24 complete response (Raised liver enzymes; Adverse reaction)`,
    );
    expect(card?.extension?.["ln-cds"].criteria).toMatchObject({ kang2020: "CR" });
    expect(card?.overrideReasons?.length).toBeGreaterThan(0);
    const all = [
      ...(await cards("iguratimod-response", "scn-stopped-after-week24")),
      ...(await cards("iguratimod-safety", "scn-stopped-after-week24")),
      ...(await cards("refractory-ln-eligibility", "scn-stopped-after-week24")),
    ];
    expect(visible(all)).not.toMatch(/remission maintained/i);
    for (const c of all) expect(c.summary).not.toMatch(/on iguratimod/);
  });

  it("patient 9 (stopped at week 36 for extra-renal lupus activity) is no longer 'Remission maintained on iguratimod'", async () => {
    const [card] = await cards("iguratimod-response", "kang-09");
    expect(finding(card)).toBe("iguratimod-stopped");
    // Extra-renal lupus activity is a flare: a warning.
    expect(card?.indicator).toBe("warning");
    expect(card?.summary).toMatch(
      /^Iguratimod stopped on \d{4}-\d\d-\d\d after week-24 complete response \(Extra-renal lupus activity/,
    );
    expect(card?.summary).not.toMatch(/maintained/i);
  });

  it("patient 12: a relapse before the stop takes precedence, with proteinuria now, week 24 and baseline, and the KDIGO 2024 work-up", async () => {
    const [card] = await cards("iguratimod-response", "kang-12");
    expect(finding(card)).toBe("renal-relapse");
    expect(card?.summary).toMatch(/; proteinuria now [\d.]+ g\/24h \(\d{4}-\d\d-\d\d\)$/);
    expect(card?.detail).toMatch(/Iguratimod was stopped on \d{4}-\d\d-\d\d/);
    expect(card?.detail).toMatch(/\| assessed proteinuria \| \d{4}-\d\d-\d\d \| [\d.]+ g\/24h \|/);
    expect(card?.detail).toMatch(/\| baseline proteinuria \| \d{4}-\d\d-\d\d \| [\d.]+ g\/24h \|/);
    expect(loincs(card)).toEqual([
      expect.objectContaining({ system: "http://loinc.org", code: "13945-1" }),
      expect.objectContaining({ code: "4485-9" }),
      expect.objectContaining({ code: "4498-2" }),
      expect.objectContaining({ code: "5130-0" }),
    ]);
    expect(card?.links?.map((l) => l.url)).toContain(
      "https://kdigo.org/guidelines/lupus-nephritis/",
    );
  });
});

describe("the assessment window", () => {
  it("scn-window-open-no-proteinuria: interim, due by the date of day 196, with the orders the assessment needs; never 'week 25 of 24'", async () => {
    const [card] = await cards("iguratimod-response", "scn-window-open-no-proteinuria");
    expect(finding(card)).toBe("response-interim");
    expect(card?.summary).toMatch(
      new RegExp(`^Iguratimod week 21: week-24 assessment due by ${date(150 - 196)}`),
    );
    expect(card?.summary).not.toMatch(/of 24/);
    expect(loincs(card).map((c) => c?.code)).toEqual(["2889-4", "2160-0", "1751-7", "13945-1"]);
  });

  it("scn-window-closed-lost-to-follow-up: insufficient data, the window closed on its date, and no order that cannot change that", async () => {
    const [card] = await cards("iguratimod-response", "scn-window-closed-lost-to-follow-up");
    expect(finding(card)).toBe("week24-insufficient-data");
    expect(card?.summary).toMatch(new RegExp(`the window closed on ${date(230 - 196)}$`));
    expect(card?.suggestions).toBeUndefined();
  });

  it("scn-window-closed-lost-to-follow-up: monitoring overdue is a warning that says how long ago each lab was measured", async () => {
    const [card] = await cards("iguratimod-safety", "scn-window-closed-lost-to-follow-up");
    expect(finding(card)).toBe("monitoring-overdue");
    expect(card?.indicator).toBe("warning");
    expect(card?.summary).toBe(
      "Iguratimod monitoring overdue: hemoglobin last measured 200 days ago, ALT last measured 200 days ago",
    );
    expect(card?.detail).toMatch(/No result of any kind for 200 days/);
    expect(loincs(card).map((c) => c?.code)).toEqual(["718-7", "1742-6"]);
  });

  it("patient 10 (lost to follow-up): window closed, no orders; monitoring overdue a warning, 182 days", async () => {
    const [response] = await cards("iguratimod-response", "kang-10");
    expect(response?.suggestions).toBeUndefined();
    expect(response?.summary).toMatch(/the window closed on \d{4}-\d\d-\d\d$/);
    const [safety] = await cards("iguratimod-safety", "kang-10");
    expect(safety?.indicator).toBe("warning");
    expect(safety?.summary).toMatch(
      /hemoglobin last measured 182 days ago, ALT last measured 182 days ago/,
    );
  });
});

describe("anaemia that was there before iguratimod", () => {
  it("scn-pre-existing-grade1-anaemia: grade-1 Hb 4 g/L below its baseline is no card", async () => {
    expect(await cards("iguratimod-safety", "scn-pre-existing-grade1-anaemia")).toEqual([]);
  });
});

describe.each(storeKinds)("a resolved event on $name", (kind) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()?.();
  });

  it("scn-alt-rise-resolved: no card today; the alert is recorded, sent and listed as resolved with the latest ALT", async () => {
    const receiver = await startReceiver(200);
    cleanup.push(() => receiver.close());
    const store = await kind.open();
    cleanup.push(() => store.close());
    const token = "operator-token-for-v2";
    const config = testConfig({
      FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
      SAFETY_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: "v2-secret-0123456789" }]),
      WEBHOOK_ALLOWLIST: receiver.origin,
      WORKER_POLL_MS: "20",
      OPERATOR_TOKEN_SHA256: createHash("sha256").update(token).digest("hex"),
    });
    const logger = createLogger("silent");
    const alerting = startAlerting({ store, config, logger, monitor: "off" });
    cleanup.push(() => alerting.stop());
    const app = createApp({
      config,
      logger,
      store,
      saveFeedback: () => Promise.reject(new Error("no feedback here")),
      services: defaultServices(config),
      alertSink: alerting.sink,
      clock: () => NOW,
      operatorRoutes: alertsRouter({ store: alertStore(store), config, logger }),
    });
    const local = new MiniEhr(app, fhir.url);
    const res = await local.call(
      "iguratimod-safety",
      "patient-view",
      { userId: "Practitioner/v2", patientId: "scn-alt-rise-resolved" },
      { prefetch: true },
    );
    expect(res.status).toBe(200);
    expect(res.body.cards).toEqual([]);

    const expected = {
      rule: "liver-injury",
      severity: "warning",
      observation: "Observation/scn-alt-rise-resolved-alt-rise",
      value: { value: 130, unit: "U/L" },
      status: "resolved",
      latest: { value: 28, unit: "U/L", effective: `${date(10)}T08:00:00.000Z` },
    };
    const listed = await request(app).get("/alerts").set("Authorization", `Bearer ${token}`);
    expect(listed.status).toBe(200);
    expect(alertListingSchema.parse(listed.body).alerts).toEqual([
      expect.objectContaining(expected),
    ]);
    const row = await store.db
      .selectFrom("safety_alert")
      .select(["status"])
      .executeTakeFirstOrThrow();
    expect(row.status).toBe("resolved");
    await until(() => receiver.calls.length >= 1, 10_000);
    expect(JSON.parse(receiver.calls[0]?.body ?? "{}")).toMatchObject(expected);
  });
});

describe.each(alertStoreKinds)("the monitor on %s", (kind) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()?.();
  });

  it("scn-alt-rise-resolved: the monitor records the past ALT rise as resolved, with the latest ALT", async () => {
    const own = await startFhirServer({
      bundles: [patientBundle(bundles, "scn-alt-rise-resolved")],
    });
    cleanup.push(() => own.close());
    const store = await openAlertStore(kind);
    cleanup.push(() => store.close());
    const logger = createLogger("silent");
    const config = testConfig({ MONITOR_FHIR_SERVER: own.url, FHIR_TIMEOUT_MS: "15000" });
    const sink = createAlertSink({ store, config, logger });
    const monitor = startMonitor({
      store,
      config,
      logger,
      sink,
      intervalMs: 600_000,
      clock: () => NOW,
    });
    cleanup.push(() => monitor.stop());
    await monitor.runOnce();
    const rows = await store.db
      .selectFrom("safety_alert")
      .select(["status", "payload", "source"])
      .execute();
    expect(rows.map((r) => [r.status, r.source])).toEqual([["resolved", "monitor"]]);
    expect(JSON.parse(rows[0]?.payload ?? "{}")).toMatchObject({
      status: "resolved",
      latest: { value: 28, unit: "U/L" },
    });
  });
});

describe("what the response card shows beside the verdict", () => {
  it("patient 1: eGFR (CKD-EPI 2021) beside each creatinine, and prednisone 15 mg/day at day 0 and now", async () => {
    const [card] = await cards("iguratimod-response", "kang-01");
    const detail = card?.detail ?? "";
    expect(detail).toMatch(
      /\| creatinine \| (\d{4}-\d\d-\d\d) \| \d+ µmol\/L \| [^|]+ \|\n\| eGFR \(CKD-EPI 2021\) \| \1 \| \d+ mL\/min\/1\.73 m² \|/,
    );
    expect(detail).toMatch(/\| baseline creatinine \|[^\n]*\n\| baseline eGFR \(CKD-EPI 2021\) \|/);
    expect(detail).toContain("| glucocorticoid at day 0 (prednisone-equivalent) | 15 mg/day |");
    expect(detail).toContain("| glucocorticoid now (prednisone-equivalent) | 15 mg/day |");
  });

  it("patient 2 (creatinine sent in mg/dL): µmol/L as an integer with the mg/dL as sent, never 38.9851", async () => {
    const [card] = await cards("iguratimod-response", "kang-02");
    expect(card?.detail).toMatch(/\| creatinine \| [^|]+ \| \d+ µmol\/L \(\d\.\d\d? mg\/dL\) \|/);
    expect(card?.detail).not.toMatch(/\d+\.\d{3,}/);
  });
});
