/**
 * Monitor (docs/cds-contract.md#alerts) against a real FHIR HTTP server holding the 14 study patients: a new
 * hemoglobin Observation for a patient on iguratimod yields an alert within one interval with no
 * hook call; a restarted monitor raises nothing again; a FHIR outage skips nothing.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Bundle, FhirResource, Observation } from "fhir/r4.js";
import { afterEach, describe, expect, it } from "vitest";
import { lab } from "../fixtures/build.js";
import { studyPatientBundles } from "../fixtures/index.js";
import { alertId } from "../src/alerts/alert.js";
import { startMonitor, WATERMARK_KEY, type Monitor } from "../src/alerts/monitor.js";
import { createAlertSink } from "../src/alerts/sink.js";
import { startFhirServer } from "../src/fhir-server/index.js";
import { testConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import {
  alertStoreKinds,
  openAlertStore,
  until,
  type OpenedAlertStore,
} from "./support/alert-stores.js";

const TOKEN = "monitor-token-abc";
const logger = createLogger("silent");

/** A small FHIR server: search by code, patient, _lastUpdated=gt; paging; bearer token; outage switch. */
interface MiniFhir {
  url: string;
  add(r: FhirResource): void;
  down: boolean;
  searches: string[];
  close(): Promise<void>;
}

async function startMiniFhir(): Promise<MiniFhir> {
  const resources: FhirResource[] = [];
  let tick = Date.now();
  const state: MiniFhir = {
    url: "",
    down: false,
    searches: [],
    add(r) {
      // Strictly increasing lastUpdated, as a server stamps writes.
      tick = Math.max(tick + 1, Date.now());
      resources.push({ ...r, meta: { ...r.meta, lastUpdated: new Date(tick).toISOString() } });
    },
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/fhir+json" });
      res.end(JSON.stringify(body));
    };
    if (state.down) {
      send(503, { resourceType: "OperationOutcome", issue: [] });
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      send(401, { resourceType: "OperationOutcome", issue: [] });
      return;
    }
    const url = new URL(req.url ?? "/", state.url);
    const [, type, id] = url.pathname.split("/");
    if (id) {
      const found = resources.find((r) => r.resourceType === type && r.id === id);
      if (found) send(200, found);
      else send(404, { resourceType: "OperationOutcome", issue: [] });
      return;
    }
    state.searches.push(url.search);
    const codes = url.searchParams.get("code")?.split(",");
    const patient = url.searchParams.get("patient");
    const gt = url.searchParams.get("_lastUpdated")?.replace(/^gt/, "");
    let matches = resources.filter((r) => r.resourceType === type);
    if (patient) {
      matches = matches.filter(
        (r) =>
          (r as { subject?: { reference?: string } }).subject?.reference === `Patient/${patient}`,
      );
    }
    if (codes) {
      matches = matches.filter((r) =>
        (r as Observation).code.coding?.some((c) =>
          codes.includes(`${c.system ?? ""}|${c.code ?? ""}`),
        ),
      );
    }
    if (gt) matches = matches.filter((r) => Date.parse(r.meta?.lastUpdated ?? "") > Date.parse(gt));
    const count = Number(url.searchParams.get("_count") ?? "100");
    const offset = Number(url.searchParams.get("_offset") ?? "0");
    const page = matches.slice(offset, offset + count);
    const bundle: Bundle = {
      resourceType: "Bundle",
      type: "searchset",
      // The server's own clock, which stamps its writes.
      meta: { lastUpdated: new Date(Math.max(tick, Date.now())).toISOString() },
      total: matches.length,
      entry: page.map((resource) => ({ resource })),
    };
    if (offset + count < matches.length) {
      const next = new URL(url);
      next.searchParams.set("_offset", String(offset + count));
      bundle.link = [{ relation: "next", url: next.toString() }];
    }
    send(200, bundle);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return state;
}

/** The monitor's searches for what changed since its watermark: one per round (one page here). */
const changeSearches = (searches: readonly string[]): string[] =>
  searches.filter((s) => s.includes("_lastUpdated=gt"));

const hemoglobin = (id: string, patient: string, gPerL: number, effective: Date): Observation =>
  lab({
    id,
    patientId: patient,
    loinc: "718-7",
    at: effective.toISOString(),
    value: gPerL,
    unit: "g/L",
  });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

describe.each(alertStoreKinds)("safety monitor on %s", (kind) => {
  async function setup() {
    const now = new Date();
    const fhir = await startMiniFhir();
    cleanup.push(() => fhir.close());
    for (const bundle of studyPatientBundles(now)) {
      for (const e of bundle.entry ?? []) if (e.resource) fhir.add(e.resource as FhirResource);
    }
    const store: OpenedAlertStore = await openAlertStore(kind);
    cleanup.push(() => store.close());
    const config = testConfig({
      MONITOR_FHIR_SERVER: fhir.url,
      MONITOR_FHIR_TOKEN: TOKEN,
      MONITOR_INTERVAL: "1",
      SAFETY_WEBHOOKS: JSON.stringify([{ url: "http://127.0.0.1:9/hook", secret: "x".repeat(20) }]),
      WEBHOOK_ALLOWLIST: "http://127.0.0.1:9",
    });
    const sink = createAlertSink({ store, config, logger });
    const monitor = (intervalMs = 300): Monitor => {
      const m = startMonitor({ store, config, logger, sink, intervalMs });
      cleanup.push(() => m.stop());
      return m;
    };
    const alertRows = () => store.db.selectFrom("safety_alert").selectAll().execute();
    return { now, fhir, store, sink, monitor, alertRows };
  }

  it("raises patient 4's alerts from the first poll, a new Observation's alert by the next round, and nothing again after a restart", async () => {
    const { now, fhir, store, monitor, alertRows } = await setup();
    const first = monitor();
    await until(async () => (await alertRows()).some((a) => a.patient === "Patient/kang-04"));
    const kang04 = (await alertRows()).filter((a) => a.patient === "Patient/kang-04");
    expect(kang04.map((a) => a.severity).sort()).toEqual(["critical", "warning"]);
    expect(kang04.every((a) => a.source === "monitor")).toBe(true);
    expect(changeSearches(fhir.searches)).toEqual([]);
    await until(async () => {
      const wm = await store.db
        .selectFrom("monitor_state")
        .select("value")
        .where("name", "=", WATERMARK_KEY)
        .executeTakeFirst();
      return wm !== undefined;
    });
    const before = (await alertRows()).length;

    const added = hemoglobin("kang-04-hb-new", "kang-04", 70, new Date(now.getTime() - 3_600_000));
    const changeSearchesBefore = changeSearches(fhir.searches).length;
    fhir.add(added);
    const newId = alertId({
      patient: "Patient/kang-04",
      rule: "anemia",
      observation: "Observation/kang-04-hb-new",
    });
    await until(async () => (await alertRows()).some((a) => a.id === newId), 10_000);
    // Found by the next round: counted in rounds (each asks once for what changed), not in wall
    // time, which a loaded CI machine stretches. The round under way when the Observation came
    // may have asked just before it, so at most two.
    expect(changeSearches(fhir.searches).length - changeSearchesBefore).toBeLessThanOrEqual(2);
    expect((await alertRows()).length).toBe(before + 1);
    expect(changeSearches(fhir.searches).length).toBeGreaterThan(0);
    await first.stop();

    const second = monitor();
    const round = await second.runOnce();
    expect(round.raised).toBe(0);
    expect(round.observations).toBe(0);
    expect((await alertRows()).length).toBe(before + 1);
  });

  it("an Observation whose subject reference is not a string does not stop a round: a new Hb of 40 g/L still alerts", async () => {
    const { now, fhir, monitor, alertRows } = await setup();
    const m = monitor(600_000);
    await m.runOnce();
    const odd = hemoglobin("kang-01-hb-odd", "kang-01", 128, new Date(now.getTime() - 7_200_000));
    fhir.add({ ...odd, subject: { reference: 123 } } as unknown as FhirResource);
    fhir.add(hemoglobin("kang-04-hb-40", "kang-04", 40, new Date(now.getTime() - 3_600_000)));
    await m.runOnce();
    const id = alertId({
      patient: "Patient/kang-04",
      rule: "anemia",
      observation: "Observation/kang-04-hb-40",
    });
    expect((await alertRows()).some((a) => a.id === id)).toBe(true);
    expect((await alertRows()).some((a) => a.observation === "Observation/kang-01-hb-odd")).toBe(
      false,
    );
  });

  it("a FHIR outage is retried: the watermark holds and the Observation added meanwhile still alerts", async () => {
    const { now, fhir, store, monitor, alertRows } = await setup();
    const m = monitor(60_000);
    await until(async () => (await alertRows()).length > 0);
    await m.stop();
    const wm = () =>
      store.db
        .selectFrom("monitor_state")
        .select("value")
        .where("name", "=", WATERMARK_KEY)
        .executeTakeFirst();
    const held = await wm();
    fhir.add(hemoglobin("kang-04-hb-outage", "kang-04", 65, new Date(now.getTime() - 60_000)));
    fhir.down = true;
    const m2 = monitor(60_000);
    await expect(m2.runOnce()).rejects.toThrow();
    expect(await wm()).toEqual(held);
    fhir.down = false;
    const alertsBefore = (await alertRows()).length;
    // The timer's own first round may be the one that sees the recovery; either way the
    // Observation added during the outage alerts exactly once.
    await m2.runOnce();
    await m2.stop();
    expect((await alertRows()).length).toBe(alertsBefore + 1);
    const id = alertId({
      patient: "Patient/kang-04",
      rule: "anemia",
      observation: "Observation/kang-04-hb-outage",
    });
    expect((await alertRows()).some((a) => a.id === id)).toBe(true);
  });
});

/**
 * The same monitor against the project's demo FHIR server (Medplum), over HTTP: a broken clock
 * stamp must not switch it off, and a backlog must drain across rounds.
 */
describe.each(alertStoreKinds)("safety monitor against the demo FHIR server on %s", (kind) => {
  const FUTURE = "9999-12-31T23:59:59.000Z";

  async function setup(opts: { bundles: Bundle[]; delayMs?: number }) {
    const fhir = await startFhirServer({
      bundles: opts.bundles,
      ...(opts.delayMs !== undefined ? { delayMs: opts.delayMs } : {}),
    });
    cleanup.push(() => fhir.close());
    const store: OpenedAlertStore = await openAlertStore(kind);
    cleanup.push(() => store.close());
    const lines: string[] = [];
    const log = createLogger("info", {
      write(line: string) {
        lines.push(line);
      },
    });
    // Generous limits: Medplum's in-memory search on a loaded CI machine is slow.
    const config = testConfig({
      MONITOR_FHIR_SERVER: fhir.url,
      MONITOR_INTERVAL: "60",
      FHIR_TIMEOUT_MS: "15000",
    });
    const sink = createAlertSink({ store, config, logger: log });
    const monitor = (roundTimeoutMs = 60_000): Monitor => {
      const m = startMonitor({
        store,
        config,
        logger: log,
        sink,
        intervalMs: 600_000,
        roundTimeoutMs,
      });
      cleanup.push(() => m.stop());
      return m;
    };
    const watermark = async () =>
      (
        await store.db
          .selectFrom("monitor_state")
          .select("value")
          .where("name", "=", WATERMARK_KEY)
          .executeTakeFirst()
      )?.value;
    const alertRows = () => store.db.selectFrom("safety_alert").selectAll().execute();
    return { fhir, store, monitor, watermark, alertRows, lines };
  }

  const newHbId = alertId({
    patient: "Patient/kang-04",
    rule: "anemia",
    observation: "Observation/kang-04-hb-40",
  });

  it("an Observation stamped in year 9999 does not move the watermark past the server's time: a later Hb of 40 g/L still alerts", async () => {
    const now = new Date();
    const { fhir, monitor, watermark, alertRows, lines } = await setup({
      bundles: studyPatientBundles(now),
    });
    await fhir.addResource({
      ...hemoglobin("kang-01-hb-future", "kang-01", 128, new Date(now.getTime() - 86_400_000)),
      meta: { lastUpdated: FUTURE },
    });
    const m = monitor();
    const first = await m.runOnce();
    expect(first.observations).toBeGreaterThan(0);
    const held = await watermark();
    expect(held).toBeDefined();
    expect(Date.parse(held ?? "")).toBeLessThanOrEqual(Date.now());

    await fhir.addResource(
      hemoglobin("kang-04-hb-40", "kang-04", 40, new Date(now.getTime() - 3_600_000)),
    );
    await m.runOnce();
    expect((await alertRows()).some((a) => a.id === newHbId)).toBe(true);
    expect(Date.parse((await watermark()) ?? "")).toBeLessThanOrEqual(Date.now());

    // Said once per round as a warning, naming no patient and no resource.
    const warnings = lines.filter((l) => /future/i.test(l));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((l) => (JSON.parse(l) as { level: number }).level === 40)).toBe(true);
    expect(lines.join("\n")).not.toMatch(/kang-|hb-future|hb-40/);
  }, 120_000);

  it("a watermark stored in year 9999 by an earlier version is dropped and every change read again", async () => {
    const now = new Date();
    const { fhir, store, monitor, watermark, alertRows } = await setup({
      bundles: studyPatientBundles(now),
    });
    await store.db
      .insertInto("monitor_state")
      .values({ name: WATERMARK_KEY, value: FUTURE })
      .execute();
    await fhir.addResource(
      hemoglobin("kang-04-hb-40", "kang-04", 40, new Date(now.getTime() - 3_600_000)),
    );
    await monitor().runOnce();
    expect((await alertRows()).some((a) => a.id === newHbId)).toBe(true);
    expect(Date.parse((await watermark()) ?? "")).toBeLessThanOrEqual(Date.now());
  }, 120_000);

  it("a backlog of 300 changed patients at 100 ms per FHIR request drains across rounds that stop at their deadline, and the critical patient changed last is evaluated", async () => {
    const now = new Date();
    const base = now.getTime() - 2 * 3_600_000;
    const stamp = (seconds: number) => new Date(base + seconds * 1000).toISOString();
    const backlog: Bundle = {
      resourceType: "Bundle",
      type: "collection",
      entry: Array.from({ length: 300 }, (_, i) => {
        const id = `backlog-${String(i)}`;
        return [
          { resource: { resourceType: "Patient", id, meta: { lastUpdated: stamp(i) } } },
          {
            resource: {
              ...hemoglobin(`${id}-hb`, id, 131, new Date(base)),
              meta: { lastUpdated: stamp(i) },
            },
          },
        ] as Bundle["entry"] & object;
      }).flat(),
    };
    // Patient 4 of the study (Hb 32 g/L on iguratimod) changed after the whole backlog.
    const kang04 = studyPatientBundles(now).find((b) =>
      b.entry?.some((e) => e.resource?.id === "kang-04"),
    );
    const last = stamp(400);
    const critical: Bundle = {
      resourceType: "Bundle",
      type: "collection",
      entry: (kang04?.entry ?? []).map((e) => ({
        resource: { ...(e.resource as FhirResource), meta: { lastUpdated: last } },
      })),
    };
    const { monitor, watermark, alertRows } = await setup({
      bundles: [backlog, critical],
      delayMs: 100,
    });
    const criticalAlert = async () =>
      (await alertRows()).some((a) => a.patient === "Patient/kang-04" && a.severity === "critical");

    const m = monitor(2_000);
    const rounds = [];
    for (let i = 0; i < 20 && !(await criticalAlert()); i++) rounds.push(await m.runOnce());

    expect(await criticalAlert()).toBe(true);
    // The first round stopped at its deadline and kept what it had done.
    expect(rounds[0]?.complete).toBe(false);
    expect(rounds[0]?.evaluated).toBeGreaterThan(0);
    expect(rounds[0]?.watermark).toBeDefined();
    // Each round went on from where the one before stopped.
    const marks = rounds.map((r) => Date.parse(r.watermark ?? ""));
    for (let i = 1; i < marks.length; i++) expect(marks[i]).toBeGreaterThan(marks[i - 1] ?? 0);
    // With patient 4 evaluated, nothing of the backlog is left behind the watermark.
    await m.runOnce();
    expect(await watermark()).toBe(last);
  }, 90_000);
});
