import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  anemiaFinding,
  anemiaGrade,
  liverFinding,
  liverGrade,
  monitoringOverdue,
  safetyAlertEvents,
} from "./safety.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";

const onDrug = [course("iguratimod", 0)];

describe("anaemia (CTCAE v5.0, half-open intervals)", () => {
  it.each([
    [100, 1],
    [99.9, 2],
    [80, 2],
    [79.9, 3],
    [119.9, 1],
    [120, 0],
  ])("Hb %s g/L is grade %s for a woman (LLN 120)", (hb, grade) => {
    expect(anemiaGrade(hb, 120)).toBe(grade);
  });

  it("a fall of 20 g/L from baseline is a warning, 19.9 stays info", () => {
    const f20 = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", -10, 125), lab("hemoglobin", 30, 105)],
    });
    const f199 = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", -10, 124.9), lab("hemoglobin", 30, 105)],
    });
    expect(anemiaFinding(f20, dateAt(31))?.indicator).toBe("warning");
    expect(anemiaFinding(f199, dateAt(31))?.indicator).toBe("info");
  });

  it("deciding values show the limit the rule used when the Observation has no range of its own", () => {
    const f = makeFacts({
      courses: onDrug,
      sex: "male",
      labs: [
        lab("hemoglobin", -5, 140),
        lab("hemoglobin", 30, 95, { referenceRange: { low: 125, high: 170 } }),
        lab("alt", -5, 30),
        lab("alt", 30, 180),
      ],
    });
    const hb = anemiaFinding(f, dateAt(31));
    // The lab sent its own range with the week-4 value: that one is shown as sent.
    expect(hb?.decidingValues.map((d) => d.referenceRange)).toEqual([
      { low: 125, high: 170 },
      { low: 125 }, // the baseline has none: the LLN the rule judged with (the lab's own)
    ]);
    // No ALT range anywhere: the default ULN for men (docs/clinical-rules.md#1-facts).
    expect(liverFinding(f, dateAt(31))?.decidingValues.map((d) => d.referenceRange)).toEqual([
      { high: 50 },
      { high: 50 },
    ]);
  });

  it("a grade-1 Hb above its baseline is pre-existing anaemia, not a finding (and never a fall)", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", -5, 105), lab("hemoglobin", 30, 110)],
    });
    expect(anemiaFinding(f, dateAt(31))).toBeUndefined();
  });

  it("grade 3 is critical and grade 2 a warning; the latest value decides", () => {
    const labs = [lab("hemoglobin", -5, 125), lab("hemoglobin", 49, 80), lab("hemoglobin", 84, 32)];
    const f = makeFacts({ courses: onDrug, labs });
    expect(anemiaFinding(f, dateAt(50))).toMatchObject({ indicator: "warning", grade: 2 });
    expect(anemiaFinding(f, dateAt(85))).toMatchObject({
      indicator: "critical",
      grade: 3,
      value: { value: 32, unit: "g/L" },
    });
  });

  it("uses the Observation's reference range low when present", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", 10, 115, { referenceRange: { low: 110 } })],
    });
    expect(anemiaFinding(f, dateAt(11))).toBeUndefined();
  });

  it("raises one alert event per warning or critical Observation since day 0 (study patient 4)", () => {
    const labs = [
      lab("hemoglobin", -5, 125),
      lab("hemoglobin", 21, 118),
      lab("hemoglobin", 49, 80),
      lab("hemoglobin", 84, 32),
    ];
    const f = makeFacts({ courses: [course("iguratimod", 0, 84)], labs });
    const events = safetyAlertEvents(f, dateAt(90));
    expect(events.map((e) => [e.rule, e.severity, e.value.value])).toEqual([
      ["anemia", "warning", 80],
      ["anemia", "critical", 32],
    ]);
    expect(events[0]?.baseline).toEqual({ value: 125, unit: "g/L" });
  });

  it("is silent more than 30 days after stopping iguratimod", () => {
    const f = makeFacts({
      courses: [course("iguratimod", 0, 84)],
      labs: [lab("hemoglobin", 84, 32)],
    });
    expect(anemiaFinding(f, dateAt(114))).toBeDefined();
    expect(anemiaFinding(f, dateAt(115))).toBeUndefined();
  });

  it("property: a lower hemoglobin never gives a lower grade", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 250, noNaN: true }),
        fc.double({ min: 0, max: 250, noNaN: true }),
        (a, b) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          expect(anemiaGrade(lo, 120)).toBeGreaterThanOrEqual(anemiaGrade(hi, 120));
        },
      ),
    );
  });
});

describe("liver (CTCAE v5.0 and labels)", () => {
  it.each([
    [40, undefined, 0],
    [120, undefined, 1],
    [120.1, undefined, 2],
    [200, undefined, 2],
    [200.1, undefined, 3],
    [800, undefined, 3],
    [800.1, undefined, 4],
    // Baseline above ULN: CTCAE v5.0 grade 1 is "1.5 - 3.0 x baseline" (docs/clinical-rules.md#7-safety:
    // "starting at 1.5×baseline"), so 1.5 × baseline itself is grade 1; grade 2 is "> 3.0 - 5.0".
    [90, 60, 1],
    [89.9, 60, 0],
    [180, 60, 1],
    [180.1, 60, 2],
  ])("ALT %s with baseline %s (ULN 40) is grade %s", (alt, base, grade) => {
    expect(liverGrade(alt, 40, base)).toBe(grade);
  });

  it("3× ULN is grade 1 but a warning (> 2× ULN, Chinese label); 100 U/L is a warning (Japanese label)", () => {
    const f = (v: number, sex: "female" | "male" = "female") =>
      liverFinding(
        makeFacts({ sex, courses: onDrug, labs: [lab("alt", -5, 20), lab("alt", 20, v)] }),
        dateAt(21),
      );
    expect(f(120)).toMatchObject({ grade: 1, indicator: "warning" });
    expect(f(80)).toMatchObject({ grade: 1, indicator: "info" });
    expect(f(80.1)).toMatchObject({ grade: 1, indicator: "warning" });
    expect(f(99.9, "male")).toMatchObject({ grade: 1, indicator: "info" });
    expect(f(100, "male")).toMatchObject({ grade: 1, indicator: "warning" });
    expect(f(200)).toMatchObject({ grade: 2, indicator: "warning" });
    expect(f(200.1)).toMatchObject({ grade: 3, indicator: "critical" });
    expect(f(800.1)).toMatchObject({ grade: 4, indicator: "critical" });
    expect(f(40)).toBeUndefined();
  });

  it("property: a higher ALT never gives a lower grade", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.option(fc.double({ min: 1, max: 300, noNaN: true }), { nil: undefined }),
        (a, b, base) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          expect(liverGrade(hi, 40, base)).toBeGreaterThanOrEqual(liverGrade(lo, 40, base));
        },
      ),
    );
  });
});

describe("monitoring overdue (35 days)", () => {
  it("reports a missing ALT after 35 days and not at 35", () => {
    const labs = [lab("hemoglobin", 60, 125), lab("alt", 30, 20)];
    const f = makeFacts({ courses: onDrug, labs });
    expect(monitoringOverdue(f, dateAt(65))).toBeUndefined();
    expect(monitoringOverdue(f, dateAt(66))?.missing).toEqual(["alt"]);
  });

  it("is silent when not on iguratimod", () => {
    expect(
      monitoringOverdue(makeFacts({ courses: [course("iguratimod", 0, 10)] }), dateAt(60)),
    ).toBeUndefined();
  });
});

describe("anaemia and monitoring boundaries (docs/clinical-rules.md#7-safety)", () => {
  it("a fall of exactly 20 g/L with Hb still ≥ LLN is a warning; a fall of 19 is no finding", () => {
    const f = (baseline: number) =>
      anemiaFinding(
        makeFacts({
          courses: onDrug,
          labs: [lab("hemoglobin", -10, baseline), lab("hemoglobin", 30, 125)],
        }),
        dateAt(31),
      );
    expect(f(145)).toMatchObject({ indicator: "warning", grade: 0 });
    expect(f(144)).toBeUndefined();
  });

  it("default LLN is 130 g/L for a man and 120 g/L for a woman: Hb 125 is grade 1 only for the man", () => {
    const f = (sex: "female" | "male" | "other") =>
      anemiaFinding(
        makeFacts({ sex, courses: onDrug, labs: [lab("hemoglobin", 30, 125)] }),
        dateAt(31),
      );
    expect(f("male")).toMatchObject({ indicator: "info", grade: 1 });
    expect(f("female")).toBeUndefined();
    expect(f("other")).toBeUndefined();
    expect(anemiaGrade(125, 130)).toBe(1);
    expect(anemiaGrade(125, 120)).toBe(0);
  });

  it("hemoglobin exactly 35 days ago is not overdue; 36 days ago is", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", 30, 125), lab("alt", 60, 20)],
    });
    expect(monitoringOverdue(f, dateAt(65))).toBeUndefined();
    expect(monitoringOverdue(f, dateAt(66))?.missing).toEqual(["hemoglobin"]);
  });

  it("hemoglobin and ALT both exactly 35 days ago are not overdue; both 36 days ago are", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", 30, 125), lab("alt", 30, 20)],
    });
    expect(monitoringOverdue(f, dateAt(65))).toBeUndefined();
    expect(monitoringOverdue(f, dateAt(66))).toMatchObject({
      code: "monitoring-overdue",
      missing: ["hemoglobin", "alt"],
    });
  });
});

describe("version 2: pre-existing anaemia, how overdue, resolved alerts (docs/clinical-rules.md#7-safety)", () => {
  const anaemia = (baseline: number, latest: number) =>
    anemiaFinding(
      makeFacts({
        courses: onDrug,
        labs: [lab("hemoglobin", -10, baseline), lab("hemoglobin", 30, latest)],
      }),
      dateAt(31),
    );

  it("a grade-1 Hb 9.9 g/L below its baseline is pre-existing (no finding); 10 g/L below is info", () => {
    expect(anaemia(125, 115.1)).toBeUndefined();
    expect(anaemia(125, 115)).toMatchObject({ indicator: "info", grade: 1 });
  });

  it("a grade-1 Hb without a baseline is still info (pre-existing cannot be told)", () => {
    const f = makeFacts({ courses: onDrug, labs: [lab("hemoglobin", 30, 110)] });
    expect(anemiaFinding(f, dateAt(31))).toMatchObject({ indicator: "info", grade: 1 });
  });

  it("the last hemoglobin 90 days ago is info; 91 days ago a warning; the summary says how long ago", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", 10, 125), lab("alt", 95, 20)],
    });
    expect(monitoringOverdue(f, dateAt(100))).toMatchObject({
      indicator: "info",
      missing: ["hemoglobin"],
      summary:
        "Iguratimod monitoring overdue: hemoglobin last measured 90 days ago, ALT last measured 5 days ago",
    });
    expect(monitoringOverdue(f, dateAt(101))).toMatchObject({
      indicator: "warning",
      hemoglobinDaysAgo: 91,
    });
  });

  it("none since day 0 (only the baseline before it) is a warning: 'never on iguratimod'", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("hemoglobin", -3, 125), lab("alt", -3, 20)],
    });
    expect(monitoringOverdue(f, dateAt(35))).toBeUndefined();
    expect(monitoringOverdue(f, dateAt(40))).toMatchObject({
      indicator: "warning",
      summary:
        "Iguratimod monitoring overdue: hemoglobin never on iguratimod, ALT never on iguratimod",
    });
  });

  it("counts calendar days: 35.08 days after a result at 23:00 is already its 36th day", () => {
    const t = dateAt(40).getTime() - 3_600_000;
    const f = makeFacts({
      courses: onDrug,
      labs: [{ ...lab("hemoglobin", 0, 125), time: t }, lab("alt", 40, 20)],
    });
    expect(monitoringOverdue(f, new Date(t + 34 * 86_400_000 + 2 * 3_600_000))).toBeUndefined();
    expect(
      monitoringOverdue(f, new Date(t + 35 * 86_400_000 + 2 * 3_600_000))?.hemoglobinDaysAgo,
    ).toBe(36);
  });

  it("an alert whose value is no longer the latest, and whose latest is below its level, is resolved", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [
        lab("hemoglobin", -5, 125),
        lab("hemoglobin", 49, 80),
        lab("hemoglobin", 84, 32),
        lab("hemoglobin", 120, 90),
      ],
    });
    const events = safetyAlertEvents(f, dateAt(121)).map((e) => [
      e.severity,
      e.value.value,
      e.status,
      e.latest.value,
    ]);
    // 80 (warning): the latest, 90, is grade 2 too: still current. 32 (critical): resolved.
    // 90 itself: the latest, current.
    expect(events).toEqual([
      ["warning", 80, "current", 90],
      ["critical", 32, "resolved", 90],
      ["warning", 90, "current", 90],
    ]);
  });

  it("a normalised ALT resolves the past rise, with the latest value and its date", () => {
    const f = makeFacts({
      courses: onDrug,
      labs: [lab("alt", -3, 20), lab("alt", 60, 130), lab("alt", 100, 28)],
    });
    expect(safetyAlertEvents(f, dateAt(101))).toMatchObject([
      {
        rule: "liver-injury",
        severity: "warning",
        status: "resolved",
        latest: { value: 28, unit: "U/L", effective: dateAt(100).toISOString() },
      },
    ]);
    expect(liverFinding(f, dateAt(101))).toBeUndefined();
  });
});

describe("after the stop (docs/clinical-rules.md#6-response, #7-safety)", () => {
  it("a value measured in the 30 days after the stop is never called 'on iguratimod'", () => {
    const f = makeFacts({
      courses: [course("iguratimod", 0, 100)],
      labs: [lab("hemoglobin", -3, 125), lab("hemoglobin", 110, 75)],
    });
    expect(anemiaFinding(f, dateAt(111))?.summary).toMatch(
      /^Anaemia after iguratimod \(stopped \d{4}-\d\d-\d\d\): Hb 75 g\/L/,
    );
  });
});
