/**
 * Safety monitor (issue 6 §5): alerts for patients whose chart nobody opens. Every interval it
 * asks MONITOR_FHIR_SERVER for hemoglobin and ALT Observations changed since the stored
 * watermark (`_lastUpdated=gt…`, every page), and for each such patient on an iguratimod course
 * evaluates the same safety rules as the iguratimod-safety service, raising through the same
 * sink with source "monitor".
 *
 * The watermark lives in the database and moves only after the batch's alerts are committed;
 * a FHIR or store failure leaves it where it was, so the next round sees the same changes again
 * (nothing skipped; re-raising is a no-op because alert ids are deterministic).
 */
import type { FhirResource, Observation } from "fhir/r4.js";
import type { Logger } from "pino";
import { LAB_CODES, LOINC_SYSTEM } from "../clinical/codes.js";
import { safetyAlertEvents } from "../clinical/safety.js";
import { withOverrides } from "../clinical/thresholds.js";
import type { Config } from "../config.js";
import { createFhirKitReader } from "../fhir/fhir-kit-reader.js";
import { normalisePatient } from "../fhir/normalise.js";
import { anyCodeOf } from "../fhir/search.js";
import type { FhirReader } from "../fhir/reader.js";
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
  Partial<Pick<Config, "CLINICAL_THRESHOLDS">>;

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
}

export interface MonitorRound {
  observations: number;
  patients: number;
  raised: number;
  watermark: string | undefined;
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

/** clinical-rules §1 LOINC codes of the two safety facts. */
const SAFETY_CODES = codesOf(["hemoglobin", "alt"]);
/** Every lab code the rules read (baseline, day 0 and the safety values). */
const ALL_LAB_CODES = anyCodeOf(LOINC_SYSTEM, LAB_CODES.keys());
const PAGE_SIZE = 100;

export function monitorReader(config: MonitorConfig): FhirReader {
  if (config.MONITOR_FHIR_SERVER === undefined) {
    throw new Error("MONITOR_FHIR_SERVER is not set");
  }
  return createFhirKitReader({
    baseUrl: config.MONITOR_FHIR_SERVER,
    ...(config.MONITOR_FHIR_TOKEN !== undefined ? { accessToken: config.MONITOR_FHIR_TOKEN } : {}),
    timeoutMs: config.FHIR_TIMEOUT_MS,
    maxResponseBytes: config.FHIR_MAX_RESPONSE_BYTES,
    // The monitor must read every page: nothing may be skipped.
    paging: { maxPages: 100_000, maxResources: 10_000_000 },
  });
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

export function startMonitor(deps: MonitorDeps): Monitor {
  const { store, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const reader = deps.reader ?? monitorReader(deps.config);
  const intervalMs = deps.intervalMs ?? (deps.config.MONITOR_INTERVAL ?? 60) * 1000;
  const timeoutMs = Math.max(deps.config.FHIR_TIMEOUT_MS * 4, 10_000);
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
    return [...(p ? [p] : []), ...labs.resources, ...statements.resources, ...requests.resources];
  }

  async function runOnce(): Promise<MonitorRound> {
    const started = Date.now();
    const watermark = await readWatermark(store);
    const signal = AbortSignal.timeout(timeoutMs);
    const since = watermark ? `&_lastUpdated=gt${encodeURIComponent(watermark)}` : "";
    const changed = await reader.search(
      `Observation?code=${SAFETY_CODES}${since}&_sort=_lastUpdated&_count=${String(PAGE_SIZE)}`,
      signal,
    );
    const observations = changed.resources.filter(
      (r): r is Observation => r.resourceType === "Observation",
    );
    let maxSeen = watermark;
    const patients = new Set<string>();
    for (const o of observations) {
      const ref = o.subject?.reference;
      if (ref?.startsWith("Patient/")) patients.add(ref);
      const updated = o.meta?.lastUpdated;
      if (
        updated !== undefined &&
        (maxSeen === undefined || Date.parse(updated) > Date.parse(maxSeen))
      ) {
        maxSeen = updated;
      }
    }
    const now = clock();
    let raised = 0;
    // One patient at a time keeps the load on the EHR's FHIR server modest; within a patient
    // the four reads run in parallel.
    for (const patient of patients) {
      const facts = normalisePatient(await patientResources(patient, signal), now, { thresholds });
      if (!facts.courses.some((c) => c.agent === "iguratimod")) continue;
      const inputs = alertInputsFromEvents(safetyAlertEvents(facts, now, thresholds));
      raised += await deps.sink.record(inputs, "monitor");
    }
    // Only now, with every alert of the batch committed, may the watermark move.
    if (maxSeen !== undefined && maxSeen !== watermark) await writeWatermark(store, maxSeen);
    logger.info(
      {
        observations: observations.length,
        patients: patients.size,
        raised,
        complete: changed.complete,
        durationMs: Date.now() - started,
      },
      "monitor round",
    );
    return {
      observations: observations.length,
      patients: patients.size,
      raised,
      watermark: maxSeen,
    };
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
