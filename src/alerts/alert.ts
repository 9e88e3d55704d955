/**
 * Pure parts of a safety alert: its deterministic id, the wire payload of the contract
 * ("Safety-team alerts"), the webhook signature and the retry delay.
 */
import { createHash, createHmac } from "node:crypto";
import type { AlertSource, SafetyAlertInput } from "./types.js";
import type { SafetyAlertPayload } from "./wire.js";

export type { SafetyAlertPayload };

/**
 * Same patient, rule and triggering Observation → same id, so raising twice (hook and monitor,
 * or two patient-views) is a no-op under `ON CONFLICT DO NOTHING` (never raised twice: docs/cds-contract.md#alerts).
 */
export function alertId(alert: Pick<SafetyAlertInput, "patient" | "rule" | "observation">): string {
  const digest = createHash("sha256")
    .update(`${alert.patient}\n${alert.rule}\n${alert.observation}`)
    .digest("hex");
  return `sa-${digest.slice(0, 40)}`;
}

/**
 * The alert payload of docs/cds-contract.md#alerts (shape: `safetyAlertPayloadSchema`), in its
 * key order: webhook signatures are over the bytes, so the order is part of the contract.
 */
export function alertPayload(
  alert: SafetyAlertInput,
  source: AlertSource,
  detectedAt: Date,
): SafetyAlertPayload {
  return {
    id: alertId(alert),
    type: "ln-cds.safety-alert",
    rule: alert.rule,
    severity: alert.severity,
    grade: alert.grade,
    patient: alert.patient,
    observation: alert.observation,
    value: { value: alert.value.value, unit: alert.value.unit },
    ...(alert.baseline
      ? { baseline: { value: alert.baseline.value, unit: alert.baseline.unit } }
      : {}),
    effective: alert.effective,
    detectedAt: detectedAt.toISOString(),
    source,
    status: alert.status ?? "current",
    ...(alert.latest
      ? {
          latest: {
            value: alert.latest.value,
            unit: alert.latest.unit,
            effective: alert.latest.effective,
          },
        }
      : {}),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`: receivers verify the exact bytes they got. */
export function signBody(rawBody: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody, "utf8").digest("hex")}`;
}

/**
 * Delay before retry number `attempt` (1 = after the first failure): base doubling per attempt,
 * capped at max, with "equal jitter" (half fixed, half random) so replicas retrying together
 * spread out while the delay still grows with each attempt.
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.round(capped / 2 + random() * (capped / 2));
}
