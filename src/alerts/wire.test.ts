import { describe, expect, it } from "vitest";
import { alertPayload } from "./alert.js";
import { acknowledgementRequestSchema, safetyAlertPayloadSchema } from "./wire.js";

describe("safety-alert payload schema", () => {
  it("takes what alertPayload builds, with and without the optional parts, keys in order", () => {
    const full = alertPayload(
      {
        rule: "liver-injury",
        severity: "critical",
        grade: 3,
        patient: "Patient/p",
        observation: "Observation/o",
        value: { value: 200, unit: "U/L" },
        baseline: { value: 20, unit: "U/L" },
        effective: "2026-01-01T00:00:00Z",
        status: "resolved",
        latest: { value: 30, unit: "U/L", effective: "2026-02-01T00:00:00Z" },
      },
      "monitor",
      new Date("2026-02-02T00:00:00Z"),
    );
    const parsed = safetyAlertPayloadSchema.parse(JSON.parse(JSON.stringify(full)));
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(full));
    const bare = { ...full, baseline: undefined, latest: undefined };
    expect(safetyAlertPayloadSchema.safeParse(JSON.parse(JSON.stringify(bare))).success).toBe(true);
  });

  it("refuses an unknown rule or a missing status", () => {
    const p = alertPayload(
      {
        rule: "anemia",
        severity: "warning",
        grade: 2,
        patient: "Patient/p",
        observation: "Observation/o",
        value: { value: 80, unit: "g/L" },
        effective: "2026-01-01T00:00:00Z",
      },
      "patient-view",
      new Date(),
    );
    expect(safetyAlertPayloadSchema.safeParse({ ...p, rule: "neutropenia" }).success).toBe(false);
    const { status: _status, ...noStatus } = p;
    expect(safetyAlertPayloadSchema.safeParse(noStatus).success).toBe(false);
  });
});

describe("acknowledgement request schema", () => {
  it("trims the name and comment, drops an empty or null comment, ignores other keys", () => {
    expect(acknowledgementRequestSchema.parse({ by: "  Dr A ", comment: " seen " })).toEqual({
      by: "Dr A",
      comment: "seen",
    });
    expect(acknowledgementRequestSchema.parse({ by: "Dr A", comment: "   " })).toEqual({
      by: "Dr A",
    });
    expect(acknowledgementRequestSchema.parse({ by: "Dr A", comment: null, x: 1 })).toEqual({
      by: "Dr A",
    });
  });

  it("counts the length after trimming", () => {
    expect(acknowledgementRequestSchema.safeParse({ by: ` ${"x".repeat(100)} ` }).success).toBe(
      true,
    );
    expect(acknowledgementRequestSchema.safeParse({ by: "x".repeat(101) }).success).toBe(false);
    const long = { by: "A", comment: ` ${"c".repeat(1000)} ` };
    expect(acknowledgementRequestSchema.safeParse(long).success).toBe(true);
  });
});
