import { describe, expect, it } from "vitest";
import { doseCheck, type DoseLineFacts, type DraftOrderFacts } from "./dose.js";

const mg = (value: number, frequency = 1, extra: Partial<DoseLineFacts> = {}): DoseLineFacts => ({
  sent: `${value} mg, ${frequency} per 1 d`,
  amount: { kind: "mass", value, mgFactor: 1 },
  timing: { frequency, period: 1, periodDays: 1, periodUnit: "d" },
  ...extra,
});
const draft = (...lines: DoseLineFacts[]): DraftOrderFacts => ({
  ref: "MedicationRequest/d",
  isIguratimod: true,
  lines,
});
const verdict = (...drafts: DraftOrderFacts[]) => {
  const f = doseCheck(drafts);
  return f ? [f.indicator, f.decidingStep.mgPerDay] : undefined;
};

describe("the summed daily dose (docs/clinical-rules.md#8-ordering)", () => {
  it("the study regimen and the label's first step (25 mg once daily) are not flagged", () => {
    expect(verdict(draft(mg(25, 2)))).toBeUndefined();
    expect(verdict(draft(mg(25, 1)))).toBeUndefined();
  });

  it("50 mg/day as 50 mg once daily is info naming the study regimen", () => {
    const f = doseCheck([draft(mg(50, 1))]);
    expect(f?.indicator).toBe("info");
    expect(f?.summary).toBe("Iguratimod 50 mg/day differs from the study's 25 mg twice daily");
  });

  it("boundaries: 50 info, 50.1 warning; 99.9 warning, 100 critical (mg/day)", () => {
    expect(verdict(draft(mg(50, 1)))).toEqual(["info", 50]);
    expect(verdict(draft(mg(50.1, 1)))).toEqual(["warning", 50.1]);
    expect(verdict(draft(mg(99.9, 1)))).toEqual(["warning", 99.9]);
    expect(verdict(draft(mg(100, 1)))).toEqual(["critical", 100]);
  });

  it("every line given at the same time adds up: 25 mg twice daily + 50 mg once daily = 100 (critical)", () => {
    const f = doseCheck([draft(mg(25, 2), mg(50, 1))]);
    expect([f?.indicator, f?.decidingStep.mgPerDay]).toEqual(["critical", 100]);
    expect(f?.summary).toBe("Iguratimod 100 mg/day: twice the label maximum of 50 mg/day or more");
  });

  it("every iguratimod draft adds up: two drafts of 25 mg twice daily = 100 (critical)", () => {
    const f = doseCheck([draft(mg(25, 2)), { ...draft(mg(25, 2)), ref: "MedicationRequest/e" }]);
    expect([f?.indicator, f?.decidingStep.mgPerDay, f?.drafts]).toEqual(["critical", 100, 2]);
    expect(f?.summary).toContain("(2 drafts summed)");
    expect(f?.evidence).toEqual(["MedicationRequest/d", "MedicationRequest/e"]);
  });

  it("sequenced lines are judged step by step: 25 mg once daily, then twice daily, is the label's titration", () => {
    expect(verdict(draft(mg(25, 1, { sequence: 1 }), mg(25, 2, { sequence: 2 })))).toBeUndefined();
    const f = doseCheck([draft(mg(25, 1, { sequence: 1 }), mg(50, 2, { sequence: 2 }))]);
    expect([f?.indicator, f?.decidingStep.step, f?.decidingStep.mgPerDay]).toEqual([
      "critical",
      2,
      100,
    ]);
  });

  it("a line without `sequence` applies at every step", () => {
    const f = doseCheck([draft(mg(25, 1, { sequence: 1 }), mg(25, 1, { sequence: 2 }), mg(50, 1))]);
    expect(f?.steps.map((s) => s.mgPerDay)).toEqual([75, 75]);
  });

  it("tablets × strength: 1 tablet of 25 mg twice daily is the study regimen; 2 tablets twice daily is critical", () => {
    const tab = (count: number, strengthMg?: number): DoseLineFacts => ({
      sent: `${count} {pill}, 2 per 1 d`,
      amount: { kind: "tablet", value: count, ...(strengthMg !== undefined ? { strengthMg } : {}) },
      timing: { frequency: 2, period: 1, periodDays: 1, periodUnit: "d" },
    });
    expect(verdict(draft(tab(1, 25)))).toBeUndefined();
    expect(verdict(draft(tab(2, 25)))).toEqual(["critical", 100]);
    const unknown = doseCheck([draft(tab(1))]);
    expect(unknown?.indicator).toBe("warning");
    expect(unknown?.summary).toBe('Iguratimod dose cannot be read: "1 {pill}, 2 per 1 d"');
  });

  it.each([
    ["zero", mg(0, 2), "the amount is zero"],
    ["negative", mg(-25, 2), "the amount is negative"],
    ["1e308", mg(1e308, 2), "the amount is beyond any possible dose (over 10000 mg)"],
    [
      "a period of 0",
      { ...mg(25, 2), timing: { frequency: 2, period: 0, periodDays: 1, periodUnit: "d" } },
      "the period is 0",
    ],
    [
      "an infinite frequency",
      mg(25, Number.POSITIVE_INFINITY, { sent: "25 mg, (unreadable number) per 1 d" }),
      "the frequency is not a finite number",
    ],
    [
      "a volume",
      { ...mg(25, 2), amount: { kind: "other" as const, value: 25, unit: "mL" } },
      'the unit "mL" is neither a mass nor tablets',
    ],
  ])(
    "a dose that cannot be read (%s) is a warning quoting what was sent, never a computed figure",
    (_n, line, why) => {
      const f = doseCheck([draft(line)]);
      expect(f?.indicator).toBe("warning");
      expect(f?.lines[0]).toMatchObject({ status: "unreadable", why });
      expect(f?.summary).toBe(`Iguratimod dose cannot be read: "${line.sent}"`);
      expect(f?.decidingStep.mgPerDay).toBe(0);
      expect(JSON.stringify(f)).not.toMatch(/Infinity|"mgPerDay":-/);
    },
  );

  it("an unreadable line beside a readable one over the maximum: the maximum decides, at least", () => {
    const f = doseCheck([draft(mg(75, 1), mg(0, 1))]);
    expect([f?.indicator, f?.summary]).toEqual([
      "warning",
      "Iguratimod at least 75 mg/day exceeds the label maximum of 50 mg/day",
    ]);
  });

  it("no dose, or no frequency, is info (not stated); a stated amount still counts once a day", () => {
    expect(doseCheck([draft()])?.indicator).toBe("info");
    const noTiming: DoseLineFacts = {
      sent: "25 mg",
      amount: { kind: "mass", value: 25, mgFactor: 1 },
    };
    expect(doseCheck([draft(noTiming)])?.summary).toBe(
      "Iguratimod dose not fully stated (how often); the study gave 25 mg twice daily",
    );
    const big: DoseLineFacts = {
      sent: "200 mg",
      amount: { kind: "mass", value: 200, mgFactor: 1 },
    };
    expect(verdict(draft(big))).toEqual(["critical", 200]);
  });

  it("drafts of other drugs are not counted", () => {
    expect(doseCheck([{ ...draft(mg(500, 2)), isIguratimod: false }])).toBeUndefined();
  });
});
