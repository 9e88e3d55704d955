/**
 * Delivery worker (docs/cds-contract.md#alerts): claims due outbox rows, POSTs the stored body signed with the
 * webhook's secret, marks 2xx delivered, retries others with backoff and jitter, dead-letters
 * rows older than WEBHOOK_MAX_AGE_HOURS.
 *
 * A claim is a lease: it moves `next_attempt_at` forward by the request timeout plus a margin.
 * If the process dies mid-request the row simply becomes due again when the lease runs out
 * (at-least-once; receivers de-duplicate by id). On PostgreSQL the claim uses
 * `FOR UPDATE SKIP LOCKED` so replicas never claim the same row; on SQLite the single UPDATE …
 * RETURNING runs under the database write lock, which gives the same guarantee.
 */
import { sql } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { createFailureLog } from "../failure-log.js";
import { safeRequest } from "../net/outbound.js";
import { backoffDelayMs, signBody } from "./alert.js";
import type { AlertStore } from "./store.js";

export type WorkerConfig = Pick<
  Config,
  | "SAFETY_WEBHOOKS"
  | "WEBHOOK_ALLOWLIST"
  | "WEBHOOK_TIMEOUT_MS"
  | "WEBHOOK_BACKOFF_BASE_MS"
  | "WEBHOOK_BACKOFF_MAX_MS"
  | "WEBHOOK_MAX_AGE_HOURS"
  | "WORKER_POLL_MS"
>;

export interface DeliveryWorkerDeps {
  store: AlertStore;
  config: WorkerConfig;
  logger: Logger;
  clock?: () => Date;
  /** Rows claimed per round. */
  batchSize?: number;
  random?: () => number;
}

export interface DeliveryWorker {
  /** Stop claiming, wait for in-flight requests to finish and be recorded. */
  stop(): Promise<void>;
  /** Run one claim-and-send round now; resolves with the number of rows processed. */
  runOnce(): Promise<number>;
}

interface ClaimedRow {
  id: string;
  alert_id: string;
  webhook_url: string;
  attempts: number;
  created_at: string;
  payload: string;
}

/** Lease margin beyond the request timeout (record the result after the response). */
const LEASE_MARGIN_MS = 5_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export function startDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { store, config, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const batchSize = deps.batchSize ?? 50;
  const random = deps.random ?? Math.random;
  const secrets = new Map(config.SAFETY_WEBHOOKS.map((h) => [h.url, h.secret]));
  const maxAgeMs = config.WEBHOOK_MAX_AGE_HOURS * 3_600_000;
  const leaseMs = config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS;

  // The database away fails every poll: the first failure, then one line per interval.
  const roundFailures = createFailureLog(logger, {
    event: "delivery-worker-failed",
    failure: "delivery worker round failed",
    recovery: "delivery worker rounds work again",
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> | undefined;

  async function claim(): Promise<ClaimedRow[]> {
    const now = clock();
    const nowIso = now.toISOString();
    const leaseIso = new Date(now.getTime() + leaseMs).toISOString();
    const lock = store.dialect === "postgres" ? sql` FOR UPDATE SKIP LOCKED` : sql``;
    const claimed = await sql<{ id: string }>`
      UPDATE alert_delivery SET next_attempt_at = ${leaseIso}
      WHERE id IN (
        SELECT id FROM alert_delivery
        WHERE status = 'pending' AND next_attempt_at <= ${nowIso}
        ORDER BY next_attempt_at
        LIMIT ${batchSize}${lock}
      )
      RETURNING id`.execute(store.db);
    const ids = claimed.rows.map((r) => r.id);
    if (ids.length === 0) return [];
    return store.db
      .selectFrom("alert_delivery as d")
      .innerJoin("safety_alert as a", "a.id", "d.alert_id")
      .select(["d.id", "d.alert_id", "d.webhook_url", "d.attempts", "d.created_at", "a.payload"])
      .where("d.id", "in", ids)
      .execute();
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    const attempts = row.attempts + 1;
    const secret = secrets.get(row.webhook_url);
    let status: number | null = null;
    let error: string | null = null;
    if (secret === undefined) {
      error = "webhook no longer configured";
    } else {
      try {
        const response = await safeRequest(
          row.webhook_url,
          {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "idempotency-key": row.alert_id,
              "x-ln-cds-signature": signBody(row.payload, secret),
            },
            body: row.payload,
          },
          {
            allowlist: config.WEBHOOK_ALLOWLIST,
            timeoutMs: config.WEBHOOK_TIMEOUT_MS,
            maxResponseBytes: MAX_RESPONSE_BYTES,
          },
        );
        status = response.status;
      } catch (err) {
        error = (err as Error).name || "error";
      }
    }
    const now = clock();
    if (status !== null && status >= 200 && status < 300) {
      await store.db
        .updateTable("alert_delivery")
        .set({
          status: "delivered",
          attempts,
          last_status: status,
          last_error: null,
          delivered_at: now.toISOString(),
        })
        .where("id", "=", row.id)
        .execute();
      return;
    }
    const tooOld = now.getTime() - Date.parse(row.created_at) >= maxAgeMs;
    const next = new Date(
      now.getTime() +
        backoffDelayMs(
          attempts,
          config.WEBHOOK_BACKOFF_BASE_MS,
          config.WEBHOOK_BACKOFF_MAX_MS,
          random,
        ),
    );
    await store.db
      .updateTable("alert_delivery")
      .set({
        status: tooOld ? "failed" : "pending",
        attempts,
        last_status: status,
        last_error: error ?? `HTTP ${String(status)}`,
        next_attempt_at: next.toISOString(),
      })
      .where("id", "=", row.id)
      .execute();
    logger.warn(
      { alertId: row.alert_id, attempts, status, error, deadLettered: tooOld },
      tooOld ? "safety alert dead-lettered" : "safety alert delivery failed; will retry",
    );
  }

  async function runOnce(): Promise<number> {
    const rows = await claim();
    await Promise.all(
      rows.map((row) =>
        deliver(row).catch((err: unknown) => {
          // The lease brings the row back; nothing is lost.
          logger.error(
            { alertId: row.alert_id, err: (err as Error).message },
            "delivery bookkeeping failed",
          );
        }),
      ),
    );
    return rows.length;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      current = runOnce().then(
        (n) => {
          roundFailures.succeeded();
          return n;
        },
        (err: unknown) => {
          roundFailures.failed(err);
          return 0;
        },
      );
      void current.then((n) => {
        current = undefined;
        // A full batch means more may be due: go again at once.
        schedule(n >= batchSize ? 0 : config.WORKER_POLL_MS);
      });
    }, delayMs);
  }
  schedule(0);

  return {
    runOnce,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (current) await current;
    },
  };
}
