/**
 * Raising safety alerts: the alert row and one outbox row per configured webhook, in one
 * transaction (docs/cds-contract.md#alerts). `ON CONFLICT DO NOTHING` on the deterministic id means the same
 * patient/rule/Observation is never raised twice, and outbox rows are written only for a new
 * alert.
 *
 * `raise` never throws: a patient-view must still answer with its cards if the store fails.
 * When the write fails (PostgreSQL away, another process holding the SQLite lock), the alerts go
 * to the local spool (spool.ts), fsynced, and `raise` answers "queued": `flushQueued` records
 * them once the store takes writes again (the runtime retries it, and a successful write starts
 * it at once), with their first `detectedAt`, and a restart reads the spool again. Only when the
 * spool cannot be written either (or there is none) does `raise` answer "failed", and the card
 * says that the safety team was not notified.
 */
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { createFailureLog } from "../failure-log.js";
import { alertId, alertPayload } from "./alert.js";
import type { AlertSpool, SpooledBatch } from "./spool.js";
import type { AlertStore } from "./store.js";
import type { AlertRaiseOutcome, AlertSink, AlertSource, SafetyAlertInput } from "./types.js";
import { deliveryId } from "./webhooks.js";

export interface AlertSinkDeps {
  store: AlertStore;
  config: Pick<Config, "SAFETY_WEBHOOKS">;
  logger: Logger;
  clock?: () => Date;
  /** Where alerts wait while the store fails; without one such alerts are "failed". */
  spool?: AlertSpool;
  /** Default ALERT_WRITE_WAIT_MS; only with a spool (without one there is nowhere else to go). */
  writeWaitMs?: number;
}

export interface AlertSinkWithStats extends AlertSink {
  /** Alerts newly recorded by this sink (not counting duplicates). */
  readonly raisedCount: () => number;
  /**
   * Same write as `raise`, but a failure is thrown: the monitor advances its watermark only
   * once the batch's alerts are committed. Resolves with the number of new alerts.
   */
  record(
    alerts: readonly SafetyAlertInput[],
    source: AlertSource,
    detectedAt?: Date,
  ): Promise<number>;
  /**
   * Records the spooled alerts (none without a spool); rejects, keeping them, while the store
   * still fails. Resolves with the number of batches taken from the spool.
   */
  flushQueued(): Promise<number>;
}

/**
 * How long a patient-view waits for its alert write before queueing the alerts in the spool: a
 * database that stopped answering (a network partition, a frozen server) must not hold the
 * clinician's answer until the request times out without cards. The write goes on; if it commits
 * later, recording the spooled copy is a no-op (same id).
 */
export const ALERT_WRITE_WAIT_MS = 2000;

class WriteTimeout extends Error {
  override name = "WriteTimeout";
}

/** `work`, or a WriteTimeout after `ms`; the timer is cleared either way, `work` never unheard. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new WriteTimeout(`the store did not answer within ${String(ms)} ms`));
    }, ms);
  });
  // A late failure of the write is already covered by the spooled copy.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function createAlertSink(deps: AlertSinkDeps): AlertSinkWithStats {
  const writeWaitMs = deps.writeWaitMs ?? ALERT_WRITE_WAIT_MS;
  const clock = deps.clock ?? (() => new Date());
  let raised = 0;
  async function record(
    alerts: readonly SafetyAlertInput[],
    source: AlertSource,
    detectedAt: Date = clock(),
  ): Promise<number> {
    if (alerts.length === 0) return 0;
    const nowIso = clock().toISOString();
    const fresh = await deps.store.db.transaction().execute(async (trx) => {
      let count = 0;
      for (const alert of alerts) {
        const payload = alertPayload(alert, source, detectedAt);
        const inserted = await trx
          .insertInto("safety_alert")
          .values({
            id: payload.id,
            patient: alert.patient,
            rule: alert.rule,
            severity: alert.severity,
            observation: alert.observation,
            source,
            status: payload.status,
            payload: JSON.stringify(payload),
            created_at: nowIso,
          })
          .onConflict((oc) => oc.column("id").doNothing())
          .returning("id")
          .executeTakeFirst();
        if (!inserted) continue;
        count += 1;
        for (const hook of deps.config.SAFETY_WEBHOOKS) {
          await trx
            .insertInto("alert_delivery")
            .values({
              id: deliveryId(payload.id, hook.url),
              alert_id: payload.id,
              webhook_url: hook.url,
              status: "pending",
              attempts: 0,
              next_attempt_at: nowIso,
              last_status: null,
              last_error: null,
              delivered_at: null,
              created_at: nowIso,
            })
            .onConflict((oc) => oc.column("id").doNothing())
            .execute();
        }
      }
      return count;
    });
    raised += fresh;
    if (fresh > 0) deps.logger.info({ source, raised: fresh }, "safety alerts raised");
    return fresh;
  }
  const spool = deps.spool;
  const retries = createFailureLog(deps.logger, {
    event: "alert-spool-flush-failed",
    failure: "queued safety alerts could not be recorded yet; retrying",
    recovery: "the store takes queued safety alerts again",
  });

  async function flushQueued(): Promise<number> {
    if (spool === undefined) return 0;
    let alertsRecorded = 0;
    const batches = await spool.drain(async (batch: SpooledBatch) => {
      alertsRecorded += await record(batch.alerts, batch.source, new Date(batch.detectedAt));
    });
    if (batches > 0) {
      deps.logger.info(
        { event: "alert-spool-recorded", batches, raised: alertsRecorded },
        "queued safety alerts recorded",
      );
    }
    return batches;
  }

  /** After a write that worked: the store is back, so what waits in the spool goes in now. */
  function flushInBackground(): void {
    if (spool === undefined || !spool.pending()) return;
    flushQueued().then(
      () => {
        retries.succeeded();
      },
      (err: unknown) => {
        retries.failed(err);
      },
    );
  }

  return {
    raisedCount: () => raised,
    record,
    async flushQueued() {
      try {
        const n = await flushQueued();
        retries.succeeded();
        return n;
      } catch (err) {
        retries.failed(err);
        throw err;
      }
    },
    async raise(
      alerts: readonly SafetyAlertInput[],
      source: AlertSource,
    ): Promise<AlertRaiseOutcome> {
      if (alerts.length === 0) return "recorded";
      const detectedAt = clock();
      // Log ids only (no values, no patient data): the ids are hashes.
      const alertIds = alerts.map(alertId);
      try {
        await (spool === undefined
          ? record(alerts, source, detectedAt)
          : within(record(alerts, source, detectedAt), writeWaitMs));
        flushInBackground();
        return "recorded";
      } catch (err) {
        const storeError = (err as Error).message;
        if (spool !== undefined) {
          try {
            await spool.append({ alerts, source, detectedAt: detectedAt.toISOString() });
            deps.logger.warn(
              { event: "alerts-queued", source, alertIds, err: storeError, spool: spool.path },
              "safety alerts queued in the local spool: the store failed; they are recorded when it is back",
            );
            return "queued";
          } catch (spoolErr) {
            deps.logger.error(
              { source, alertIds, err: storeError, spoolErr: (spoolErr as Error).message },
              "safety alerts could not be recorded, nor queued in the local spool",
            );
            return "failed";
          }
        }
        deps.logger.error(
          { source, alertIds, err: storeError },
          "safety alerts could not be recorded",
        );
        return "failed";
      }
    },
  };
}
