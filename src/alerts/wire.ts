/**
 * The safety-alert wire shapes of docs/cds-contract.md#alerts, declared once: the webhook body,
 * the `GET /alerts` listing and the acknowledgement request. The zod schemas are the source; the
 * types come from `z.infer`. The inbox page imports the types only (`import type`), so no zod
 * code reaches the browser; this module therefore imports nothing but zod.
 */
import { z } from "zod";

export const alertRuleSchema = z.enum(["anemia", "liver-injury"]);
export const alertSeveritySchema = z.enum(["warning", "critical"]);
/** Where an alert came from: a clinician's patient-view or the background monitor. */
export const alertSourceSchema = z.enum(["patient-view", "monitor"]);
/** "resolved" when a later value of the same kind is below the alert's level. */
export const alertStatusSchema = z.enum(["current", "resolved"]);
/** The state of one webhook delivery; "failed" is dead-lettered. */
export const deliveryStatusSchema = z.enum(["pending", "delivered", "failed"]);
export type AlertRule = z.infer<typeof alertRuleSchema>;
export type AlertSeverity = z.infer<typeof alertSeveritySchema>;
export type AlertSource = z.infer<typeof alertSourceSchema>;
export type AlertStatus = z.infer<typeof alertStatusSchema>;
export type DeliveryStatus = z.infer<typeof deliveryStatusSchema>;

/** A measured quantity as it appeared on the Observation (value in the rule's unit). */
export const alertQuantitySchema = z.object({ value: z.number(), unit: z.string() });
export type AlertQuantity = z.infer<typeof alertQuantitySchema>;

/**
 * The webhook body. Keys in the order the payload is built (src/alerts/alert.ts) and the
 * contract shows; a parse returns them in this order too, so the listing keeps it.
 */
export const safetyAlertPayloadSchema = z.object({
  id: z.string().min(1),
  type: z.literal("ln-cds.safety-alert"),
  rule: alertRuleSchema,
  severity: alertSeveritySchema,
  grade: z.number().int(),
  patient: z.string().min(1),
  observation: z.string().min(1),
  value: alertQuantitySchema,
  baseline: alertQuantitySchema.optional(),
  effective: z.string(),
  detectedAt: z.string(),
  source: alertSourceSchema,
  status: alertStatusSchema,
  latest: alertQuantitySchema.extend({ effective: z.string() }).optional(),
});
export type SafetyAlertPayload = z.infer<typeof safetyAlertPayloadSchema>;

/** One webhook's delivery of an alert, as the operator API shows it. */
export const alertDeliveryViewSchema = z.object({
  /** Origin only: webhook paths can carry receiver tokens. */
  webhook: z.string(),
  status: deliveryStatusSchema,
  attempts: z.number().int().nonnegative(),
  /** Only while the delivery is pending. */
  nextAttemptAt: z.string().nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});
export type AlertDeliveryView = z.infer<typeof alertDeliveryViewSchema>;

/** Who took an alert in hand, as listed. */
export const acknowledgementViewSchema = z.object({
  by: z.string(),
  comment: z.string().optional(),
  at: z.string(),
});
export type AcknowledgementView = z.infer<typeof acknowledgementViewSchema>;

/** One alert of `GET /alerts`: the payload, when the database took it, deliveries, acknowledgements. */
export const listedAlertSchema = safetyAlertPayloadSchema.extend({
  recordedAt: z.string(),
  deliveries: z.array(alertDeliveryViewSchema),
  acknowledgements: z.array(acknowledgementViewSchema),
});
export type ListedAlert = z.infer<typeof listedAlertSchema>;

/** A page of `GET /alerts`; `next` is the cursor of the following page, null on the last. */
export const alertListingSchema = z.object({
  alerts: z.array(listedAlertSchema),
  next: z.string().nullable(),
});
export type AlertListing = z.infer<typeof alertListingSchema>;

export const MAX_ACKNOWLEDGER_NAME = 100;
export const MAX_ACKNOWLEDGEMENT_COMMENT = 1000;

const byMessage = `must be the name of who acknowledges (1 to ${String(MAX_ACKNOWLEDGER_NAME)} characters)`;

/**
 * The body of `POST /alerts/{id}/acknowledgements`: `by` trimmed, 1 to 100 characters; `comment`
 * optional, trimmed, at most 1000 characters, and absent when empty or null. Other keys are
 * ignored.
 */
export const acknowledgementRequestSchema = z.object(
  {
    by: z.string(byMessage).trim().min(1, byMessage).max(MAX_ACKNOWLEDGER_NAME, byMessage),
    comment: z
      .string("must be a string")
      .trim()
      .max(
        MAX_ACKNOWLEDGEMENT_COMMENT,
        `must be at most ${String(MAX_ACKNOWLEDGEMENT_COMMENT)} characters`,
      )
      .nullish()
      .transform((c) => (c ? c : undefined)),
  },
  "the body must be a JSON object",
);
export type AcknowledgementRequest = z.infer<typeof acknowledgementRequestSchema>;

/** The answer to an acknowledgement (201). */
export const acknowledgementCreatedSchema = z.object({
  id: z.string(),
  alert: z.string(),
  by: z.string(),
  comment: z.string().optional(),
  at: z.string(),
});
export type AcknowledgementCreated = z.infer<typeof acknowledgementCreatedSchema>;
