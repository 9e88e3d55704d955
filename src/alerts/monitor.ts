/**
 * Safety monitor (docs/cds-contract.md#alerts): alerts for patients whose chart nobody opens. Every interval it
 * asks MONITOR_FHIR_SERVER for hemoglobin and ALT Observations changed since the stored
 * watermark (`_lastUpdated=gt…`, oldest first), and for each such patient on an iguratimod course
 * evaluates the same safety rules as the iguratimod-safety service, raising through the same
 * sink with source "monitor".
 *
 * Patients are evaluated in parallel, with at most MONITOR_CONCURRENCY FHIR requests in flight.
 * The watermark lives in the database and moves after each patient whose alerts are committed,
 * to the latest change before the first one not yet evaluated: a round stopped by its deadline
 * keeps what it did, and the next round goes on from there. A FHIR or store failure leaves it
 * where it was, so the next round sees the same changes again (nothing skipped; re-raising is a
 * no-op because alert ids are deterministic).
 *
 * The watermark never passes the server's own time (the search Bundle's `meta.lastUpdated`, else
 * now): a change stamped later (a broken clock, year 9999) is evaluated but does not move it,
 * and a stored watermark later than the server's time is dropped, so no such stamp can hide
 * every later change.
 */
import { setMaxListeners } from "node:events";
import type { FhirResource, Observation } from "fhir/r4.js";
import type { Logger } from "pino";
import { LAB_CODES, LOINC_SYSTEM } from "../clinical/codes.js";
import { safetyAlertEvents } from "../clinical/safety.js";
import { withOverrides } from "../clinical/thresholds.js";
import type { Config } from "../config.js";
import { createFhirKitReader } from "../fhir/fhir-kit-reader.js";
import { normalisePatient } from "../fhir/normalise/index.js";
import { belongsToPatient } from "../fhir/patient-scope.js";
import { anyCodeOf } from "../fhir/search.js";
import type { FhirReader, PagingLimits, SearchResult } from "../fhir/reader.js";
import { alertInputsFromEvents } from "./from-events.js";
import type { AlertSinkWithStats } from "./sink.js";
import type { AlertStore } from "./store.js";

export const WATERMARK_KEY = "monitor.observation-lastUpdated";

export type MonitorConfig = Pick<
  Config,
  | "MONITOR_INTERVAL"
  | "MONITOR_FHIR_SERVER"
  | "MONITOR_FHIR_TOKEN"
  | "FHIR_TIMEOUT_MS"
  | "FHIR_MAX_RESPONSE_BYTES"
> &
  Partial<Pick<Config, "CLINICAL_THRESHOLDS" | "MONITOR_CONCURRENCY">>;

export interface MonitorDeps {
  store: AlertStore;
  config: MonitorConfig;
  logger: Logger;
  sink: Pick<AlertSinkWithStats, "record">;
  /** Default: fhir-kit reader on MONITOR_FHIR_SERVER with MONITOR_FHIR_TOKEN. */
  reader?: FhirReader;
  clock?: () => Date;
  /** Default MONITOR_INTERVAL seconds. */
  intervalMs?: number;
  /** Time limit of one round. Default the larger of 4 × FHIR_TIMEOUT_MS and 10 s. */
  roundTimeoutMs?: number;
}

export interface MonitorRound {
  /** Changed Observations read this round. */
  observations: number;
  /** Patients they belong to. */
  patients: number;
  /** Patients evaluated (their alerts committed) this round. */
  evaluated: number;
  raised: number;
  /** The watermark after the round. */
  watermark: string | undefined;
  /** false when the deadline stopped the round or more changes wait than one round reads. */
  complete: boolean;
}

export interface Monitor {
  runOnce(): Promise<MonitorRound>;
  stop(): Promise<void>;
}

function codesOf(kinds: readonly string[]): string {
  return anyCodeOf(
    LOINC_SYSTEM,
    [...LAB_CODES.entries()].filter(([, c]) => kinds.includes(c.kind)).map(([code]) => code),
  );
}

/** docs/clinical-rules.md#1-facts LOINC codes of the two safety facts. */
const SAFETY_CODES = codesOf(["hemoglobin", "alt"]);
/** Every lab code the rules read (baseline, day 0 and the safety values). */
const ALL_LAB_CODES = anyCodeOf(LOINC_SYSTEM, LAB_CODES.keys());
const PAGE_SIZE = 100;
/** The changed-Observations search: large pages, and at most this many per round. */
const CHANGES_PAGE_SIZE = 500;
const CHANGES_MAX_PAGES = 4;
/** One patient's evaluation reads four things at once (patientResources). */
const REQUESTS_PER_PATIENT = 4;
const DEFAULT_CONCURRENCY = 20;

export function monitorReader(
  config: MonitorConfig,
  // The monitor must read every page of a patient's data: nothing may be skipped.
  paging: PagingLimits = { maxPages: 100_000, maxResources: 10_000_000 },
): FhirReader {
  if (config.MONITOR_FHIR_SERVER === undefined) {
    throw new Error("MONITOR_FHIR_SERVER is not set");
  }
  return createFhirKitReader({
    baseUrl: config.MONITOR_FHIR_SERVER,
    ...(config.MONITOR_FHIR_TOKEN !== undefined ? { accessToken: config.MONITOR_FHIR_TOKEN } : {}),
    timeoutMs: config.FHIR_TIMEOUT_MS,
    maxResponseBytes: config.FHIR_MAX_RESPONSE_BYTES,
    paging,
  });
}

/** The same reader, with at most `limit` of its calls (a search with all its pages) at once. */
function limitedReader(reader: FhirReader, limit: number): FhirReader {
  let active = 0;
  const waiting: Array<() => void> = [];
  async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next caller, or free it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  }
  return {
    search: (url, signal) => run(() => reader.search(url, signal)),
    read: (url, signal) => run(() => reader.read(url, signal)),
    continueBundle: (first, signal) => run(() => reader.continueBundle(first, signal)),
  };
}

async function readWatermark(store: AlertStore): Promise<string | undefined> {
  const row = await store.db
    .selectFrom("monitor_state")
    .select("value")
    .where("name", "=", WATERMARK_KEY)
    .executeTakeFirst();
  return row?.value;
}

async function writeWatermark(store: AlertStore, value: string): Promise<void> {
  await store.db
    .insertInto("monitor_state")
    .values({ name: WATERMARK_KEY, value })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value }))
    .execute();
}

/** One changed Observation: whose, and when (undefined: no usable stamp). */
interface Change {
  readonly patient: string | undefined;
  readonly at: number | undefined;
  /** The stamp as the server wrote it, stored as the watermark unchanged. */
  readonly stamp: string | undefined;
}

/**
 * The latest stamp the watermark may take once `done` patients are evaluated: every change at or
 * before it is evaluated (or has no patient to evaluate), and so is every change with the same
 * stamp. When the search stopped before its last page, the changes not read are at or after the
 * last stamp read (the search is sorted by `_lastUpdated`), so it stays below that.
 */
function reachable(
  changes: readonly Change[],
  done: ReadonlySet<string>,
  allRead: boolean,
): Change | undefined {
  let bound = Infinity;
  if (!allRead) {
    bound = -Infinity;
    for (const c of changes) if (c.at !== undefined) bound = Math.max(bound, c.at);
  }
  for (const c of changes) {
    if (c.at !== undefined && c.patient !== undefined && !done.has(c.patient)) {
      bound = Math.min(bound, c.at);
    }
  }
  let best: Change | undefined;
  for (const c of changes) {
    if (c.at === undefined || c.at >= bound) continue;
    if (c.patient !== undefined && !done.has(c.patient)) continue;
    if (best?.at === undefined || c.at > best.at) best = c;
  }
  return best;
}

export function startMonitor(deps: MonitorDeps): Monitor {
  const { store, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const concurrency = deps.config.MONITOR_CONCURRENCY ?? DEFAULT_CONCURRENCY;
  const reader = limitedReader(deps.reader ?? monitorReader(deps.config), concurrency);
  const changesReader = limitedReader(
    deps.reader ??
      monitorReader(deps.config, {
        maxPages: CHANGES_MAX_PAGES,
        maxResources: CHANGES_MAX_PAGES * CHANGES_PAGE_SIZE,
      }),
    concurrency,
  );
  const intervalMs = deps.intervalMs ?? (deps.config.MONITOR_INTERVAL ?? 60) * 1000;
  const roundTimeoutMs = deps.roundTimeoutMs ?? Math.max(deps.config.FHIR_TIMEOUT_MS * 4, 10_000);
  // The same thresholds as the patient-view services, so both raise the same alerts.
  const thresholds = withOverrides(deps.config.CLINICAL_THRESHOLDS ?? {});

  async function patientResources(patient: string, signal: AbortSignal): Promise<FhirResource[]> {
    const id = encodeURIComponent(patient.replace(/^Patient\//, ""));
    const [p, labs, statements, requests] = await Promise.all([
      reader.read(`Patient/${id}`, signal),
      reader.search(
        `Observation?patient=${id}&code=${ALL_LAB_CODES}&_count=${String(PAGE_SIZE)}`,
        signal,
      ),
      reader.search(`MedicationStatement?patient=${id}&_count=${String(PAGE_SIZE)}`, signal),
      reader.search(`MedicationRequest?patient=${id}&_count=${String(PAGE_SIZE)}`, signal),
    ]);
    // Whose data (docs/cds-contract.md#whose-data): a server that ignores `patient=` answers
    // every patient's resources; only this patient's (and Medications) may reach the rules.
    const own = patient.replace(/^Patient\//, "");
    return [
      ...(p ? [p] : []),
      ...labs.resources,
      ...statements.resources,
      ...requests.resources,
    ].filter((r) => r.resourceType === "Medication" || belongsToPatient(r, own));
  }

  /** Evaluates one patient; resolves with the alerts raised, once they are committed. */
  async function evaluate(patient: string, now: Date, signal: AbortSignal): Promise<number> {
    const facts = normalisePatient(await patientResources(patient, signal), now, { thresholds });
    if (!facts.courses.some((c) => c.agent === "iguratimod")) return 0;
    const inputs = alertInputsFromEvents(safetyAlertEvents(facts, now, thresholds));
    return deps.sink.record(inputs, "monitor");
  }

  const readChanges = (watermark: string | undefined, signal: AbortSignal) =>
    changesReader.search(
      // The time first: a server that checks filters in order (the demo FHIR server) rules out
      // unchanged Observations on the cheap test.
      "Observation?" +
        (watermark ? `_lastUpdated=gt${encodeURIComponent(watermark)}&` : "") +
        `code=${SAFETY_CODES}&_sort=_lastUpdated&_count=${String(CHANGES_PAGE_SIZE)}`,
      signal,
    );

  async function runOnce(): Promise<MonitorRound> {
    const started = Date.now();
    const signal = AbortSignal.timeout(roundTimeoutMs);
    // Every request in flight listens to it (each removes its listener when done).
    setMaxListeners(2 * concurrency + 10, signal);
    let watermark = await readWatermark(store);
    let changed = await readChanges(watermark, signal);
    const serverTimeOf = (r: SearchResult): number => {
      const t = Date.parse(r.lastUpdated ?? "");
      return Number.isFinite(t) ? t : clock().getTime();
    };
    let serverTime = serverTimeOf(changed);
    if (watermark !== undefined && !(Date.parse(watermark) <= serverTime)) {
      logger.warn(
        { serverTime: new Date(serverTime).toISOString() },
        "monitor watermark is later than the FHIR server's time (a future stamp stored earlier); reading every change again",
      );
      watermark = undefined;
      changed = await readChanges(undefined, signal);
      serverTime = serverTimeOf(changed);
    }
    const observations = changed.resources.filter(
      (r): r is Observation => r.resourceType === "Observation",
    );
    let future = 0;
    const changes: Change[] = observations.map((o) => {
      // A reference that is not a string (a broken server's) names no patient.
      const ref: unknown = o.subject?.reference;
      const patient = typeof ref === "string" && ref.startsWith("Patient/") ? ref : undefined;
      const stamp = o.meta?.lastUpdated;
      const at = Date.parse(stamp ?? "");
      if (!Number.isFinite(at)) return { patient, at: undefined, stamp: undefined };
      if (at > serverTime) {
        // Evaluated all the same, but such a stamp must not carry the watermark past the
        // server's time, where it would hide every change made until then.
        future++;
        return { patient, at: undefined, stamp: undefined };
      }
      return { patient, at, stamp };
    });
    if (future > 0) {
      logger.warn(
        { observations: future, serverTime: new Date(serverTime).toISOString() },
        "monitor: Observations stamped in the future (after the FHIR server's time) do not move the watermark",
      );
    }
    // Oldest change first, so the watermark can follow the evaluations.
    const patients = [
      ...new Set(changes.flatMap((c) => (c.patient !== undefined ? [c.patient] : []))),
    ];

    const now = clock();
    const done = new Set<string>();
    let committed = watermark;
    let committedAt = watermark === undefined ? -Infinity : Date.parse(watermark);
    let commits: Promise<void> = Promise.resolve();
    // One writer at a time, each writing the furthest point reached when its turn comes.
    const commit = (): Promise<void> => {
      commits = commits
        .catch(() => undefined)
        .then(async () => {
          const best = reachable(changes, done, changed.complete);
          if (best?.at === undefined || best.stamp === undefined || best.at <= committedAt) return;
          await writeWatermark(store, best.stamp);
          committed = best.stamp;
          committedAt = best.at;
        });
      return commits;
    };
    let raised = 0;
    let next = 0;
    let failure: { error: unknown } | undefined;
    // A function, read afresh after each await (the signal flips while the round waits).
    const pastDeadline = (): boolean => signal.aborted;
    const work = async (): Promise<void> => {
      for (;;) {
        if (failure !== undefined || pastDeadline()) return;
        const patient = patients[next++];
        if (patient === undefined) return;
        try {
          const n = await evaluate(patient, now, signal);
          raised += n;
          done.add(patient);
          // Only now, with this patient's alerts committed, may the watermark pass its changes.
          await commit();
        } catch (error) {
          // Past the deadline every request is aborted: the round simply stops there.
          if (!pastDeadline()) failure ??= { error };
          return;
        }
      }
    };
    const workers = Math.min(
      patients.length,
      Math.max(1, Math.ceil(concurrency / REQUESTS_PER_PATIENT)),
    );
    await Promise.all(Array.from({ length: workers }, work));
    await commits.catch(() => undefined);
    const round = {
      observations: observations.length,
      patients: patients.length,
      evaluated: done.size,
      raised,
      watermark: committed,
      complete: changed.complete && done.size === patients.length,
    };
    const figures = { ...round, watermark: undefined, durationMs: Date.now() - started };
    if (failure !== undefined) throw failure.error;
    if (done.size < patients.length) {
      logger.warn(
        figures,
        "monitor round stopped at its deadline; the next round goes on from there",
      );
    } else {
      logger.info(figures, "monitor round");
    }
    return round;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> | undefined;
  // Rounds never overlap: a round asked for (runOnce) while the timer's round runs waits for it,
  // so two rounds cannot read the same watermark and evaluate the same changes twice.
  let queue: Promise<unknown> = Promise.resolve();
  const serialRound: typeof runOnce = () => {
    const round = queue.then(runOnce, runOnce);
    queue = round.catch(() => undefined);
    return round;
  };
  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      current = serialRound()
        .catch((err: unknown) => {
          // Outage: the watermark did not move, so the next round retries the same changes.
          logger.error(
            // The error name only: fhir-kit messages can carry search URLs with patient ids.
            { err: (err as Error).name },
            "monitor round failed; retrying next interval",
          );
        })
        .finally(() => {
          current = undefined;
          schedule(intervalMs);
        });
    }, delay);
  }
  schedule(0);

  return {
    runOnce: serialRound,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (current) await current;
    },
  };
}
