import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import { ConfigError } from "../config.js";
import { originOf } from "../net/outbound.js";

export type WebhookConfig = Pick<Config, "SAFETY_WEBHOOKS" | "WEBHOOK_ALLOWLIST">;

/** Start-up rule: every webhook origin must be on the outbound allow-list. */
export function checkWebhooks(config: WebhookConfig): void {
  for (const hook of config.SAFETY_WEBHOOKS) {
    const origin = originOf(hook.url);
    if (origin === undefined || !config.WEBHOOK_ALLOWLIST.includes(origin)) {
      throw new ConfigError(
        "SAFETY_WEBHOOKS",
        `webhook origin ${origin ?? "(invalid)"} is not in WEBHOOK_ALLOWLIST`,
      );
    }
  }
}

/** Outbox row id: one row per alert and webhook. */
export function deliveryId(alertId: string, webhookUrl: string): string {
  return createHash("sha256").update(`${alertId}\n${webhookUrl}`).digest("hex").slice(0, 40);
}
