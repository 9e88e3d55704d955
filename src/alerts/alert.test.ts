import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { testConfig } from "../config.js";
import { alertId, alertPayload, backoffDelayMs, signBody } from "./alert.js";
import type { SafetyAlertInput } from "./types.js";
import { checkWebhooks } from "./webhooks.js";

const alert: SafetyAlertInput = {
  rule: "anemia",
  severity: "warning",
  grade: 2,
  patient: "Patient/kang-04",
  observation: "Observation/kang-04-hb-w07",
  value: { value: 80, unit: "g/L" },
  baseline: { value: 125, unit: "g/L" },
  effective: "2026-10-16T08:00:00.000Z",
};

describe("alert id", () => {
  it("is the same for the same patient, rule and Observation, whatever else differs", () => {
    expect(alertId(alert)).toBe(alertId({ ...alert }));
    expect(alertId(alert)).toMatch(/^sa-[0-9a-f]{40}$/);
  });
  it("differs when the patient, rule or Observation differs", () => {
    const ids = new Set([
      alertId(alert),
      alertId({ ...alert, patient: "Patient/kang-05" }),
      alertId({ ...alert, rule: "liver-injury" }),
      alertId({ ...alert, observation: "Observation/other" }),
    ]);
    expect(ids.size).toBe(4);
  });
});

describe("payload", () => {
  it("has the contract's fields and type", () => {
    const p = alertPayload(alert, "monitor", new Date("2026-11-25T00:00:00Z"));
    expect(p).toEqual({
      id: alertId(alert),
      type: "ln-cds.safety-alert",
      rule: "anemia",
      severity: "warning",
      grade: 2,
      patient: "Patient/kang-04",
      observation: "Observation/kang-04-hb-w07",
      value: { value: 80, unit: "g/L" },
      baseline: { value: 125, unit: "g/L" },
      effective: "2026-10-16T08:00:00.000Z",
      detectedAt: "2026-11-25T00:00:00.000Z",
      source: "monitor",
      status: "current",
    });
  });
  it("omits baseline when there is none", () => {
    const { baseline: _ignored, ...noBaseline } = alert;
    expect("baseline" in alertPayload(noBaseline, "patient-view", new Date())).toBe(false);
  });
});

describe("signature", () => {
  it("is sha256=<hex HMAC-SHA256 of the raw body>", () => {
    const body = '{"a":1}';
    expect(signBody(body, "secret-secret-secret")).toBe(
      `sha256=${createHmac("sha256", "secret-secret-secret").update(body).digest("hex")}`,
    );
  });
});

describe("backoff", () => {
  it("doubles from the base, is capped, and keeps half of the delay fixed", () => {
    expect(backoffDelayMs(1, 1000, 300_000, () => 0)).toBe(500);
    expect(backoffDelayMs(1, 1000, 300_000, () => 1)).toBe(1000);
    expect(backoffDelayMs(4, 1000, 300_000, () => 1)).toBe(8000);
    expect(backoffDelayMs(30, 1000, 300_000, () => 1)).toBe(300_000);
    expect(backoffDelayMs(30, 1000, 300_000, () => 0)).toBe(150_000);
  });
});

describe("webhook start-up rule", () => {
  it("refuses a webhook whose origin is not allow-listed, naming SAFETY_WEBHOOKS", () => {
    const config = testConfig({
      SAFETY_WEBHOOKS: JSON.stringify([{ url: "https://hooks.example/x", secret: "s".repeat(16) }]),
    });
    expect(() => {
      checkWebhooks(config);
    }).toThrow(/SAFETY_WEBHOOKS.*not in WEBHOOK_ALLOWLIST/);
    expect(() => {
      checkWebhooks({ ...config, WEBHOOK_ALLOWLIST: ["https://hooks.example"] });
    }).not.toThrow();
  });
});
