/**
 * Raising safety alerts: the alert row and one outbox row per configured webhook, in one
 * transaction (docs/cds-contract.md#alerts). `ON CONFLICT DO NOTHING` on the deterministic id means the same
 * patient/rule/Observation is never raised twice, and outbox rows are written only for a new
 * alert. Never throws: a patient-view must still answer with its cards if the store fails, and
 * says on them that the safety team was not notified.
 */
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { alertId, alertPayload } from "./alert.js";
import type { AlertStore } from "./store.js";
import type { AlertSink, AlertSource, SafetyAlertInput } from "./types.js";
import { deliveryId } from "./webhooks.js";

export interface AlertSinkDeps {
  store: AlertStore;
  config: Pick<Config, "SAFETY_WEBHOOKS">;
  logger: Logger;
  clock?: () => Date;
}

export interface AlertSinkWithStats extends AlertSink {
  /** Alerts newly recorded by this sink (not counting duplicates). */
  readonly raisedCount: () => number;
  /**
   * Same write as `raise`, but a failure is thrown: the monitor advances its watermark only
   * once the batch's alerts are committed. Resolves with the number of new alerts.
   */
  record(alerts: readonly SafetyAlertInput[], source: AlertSource): Promise<number>;
}

export function createAlertSink(deps: AlertSinkDeps): AlertSinkWithStats {
  const clock = deps.clock ?? (() => new Date());
  let raised = 0;
  async function record(alerts: readonly SafetyAlertInput[], source: AlertSource): Promise<number> {
    if (alerts.length === 0) return 0;
    const now = clock();
    const nowIso = now.toISOString();
    const fresh = await deps.store.db.transaction().execute(async (trx) => {
      let count = 0;
      for (const alert of alerts) {
        const payload = alertPayload(alert, source, now);
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
  return {
    raisedCount: () => raised,
    record,
    async raise(alerts: readonly SafetyAlertInput[], source: AlertSource): Promise<boolean> {
      try {
        await record(alerts, source);
        return true;
      } catch (err) {
        // Log ids only (no values, no patient data): the ids are hashes.
        deps.logger.error(
          { source, alertIds: alerts.map(alertId), err: (err as Error).message },
          "safety alerts could not be recorded",
        );
        return false;
      }
    },
  };
}
