import { describe, expect, it } from "vitest";
import { courseOutcome } from "./course-outcome.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";

const now = dateAt(1000);
const outcome = (labs: ReturnType<typeof lab>[], c = course("mycophenolate", 0, 200)) =>
  courseOutcome(makeFacts({ labs, courses: [c] }), c, now).outcome;

describe("courseOutcome (docs/clinical-rules.md#4-prior-courses)", () => {
  it("a course of 182 days without response failed; 181 days is too short", () => {
    const labs = [lab("protein24h", -5, 4), lab("protein24h", 90, 3.5)];
    expect(outcome(labs, course("tacrolimus", 0, 182))).toBe("failed");
    expect(outcome(labs, course("tacrolimus", 0, 181))).toBe("too-short");
  });

  it("CR-level is below 0.3: 0.299 responds, 0.300 with a 4 g baseline is PR-level (also responds)", () => {
    expect(outcome([lab("protein24h", -5, 4), lab("protein24h", 90, 0.299)])).toBe("responded");
    expect(outcome([lab("protein24h", -5, 0.5), lab("protein24h", 90, 0.3)])).toBe("failed");
  });

  it("PR-level needs ≤ 2.0 and ≤ 50 % of baseline", () => {
    expect(outcome([lab("protein24h", -5, 4), lab("protein24h", 90, 2.0)])).toBe("responded");
    expect(outcome([lab("protein24h", -5, 4.002), lab("protein24h", 90, 2.001)])).toBe("failed");
    expect(outcome([lab("protein24h", -5, 3), lab("protein24h", 90, 1.5)])).toBe("responded");
    expect(outcome([lab("protein24h", -5, 2.998), lab("protein24h", 90, 1.5)])).toBe("failed");
  });

  it("relapsed: CR-level then > 0.5; PR-level then ≥ 2 × lowest and ≥ 1.0", () => {
    expect(
      outcome([lab("protein24h", -5, 4), lab("protein24h", 60, 0.2), lab("protein24h", 150, 0.51)]),
    ).toBe("relapsed");
    expect(
      outcome([lab("protein24h", -5, 4), lab("protein24h", 60, 0.2), lab("protein24h", 150, 0.5)]),
    ).toBe("responded");
    expect(
      outcome([lab("protein24h", -5, 4), lab("protein24h", 60, 1.0), lab("protein24h", 150, 2.0)]),
    ).toBe("relapsed");
    expect(
      outcome([lab("protein24h", -5, 4), lab("protein24h", 60, 1.0), lab("protein24h", 150, 1.99)]),
    ).toBe("responded");
  });

  it("without proteinuria, 266721009 counts as failed, a relapse text as relapsed, intolerance stays unknown", () => {
    const withReason = (codes: string[], text: string) =>
      course("cyclophosphamide", 0, 100, { reasons: [{ codes, text }] });
    expect(outcome([], withReason(["266721009"], "Absent response to treatment"))).toBe("failed");
    expect(outcome([], withReason([], "renal flare"))).toBe("relapsed");
    expect(outcome([], withReason(["407563006"], "Treatment not tolerated"))).toBe("unknown");
  });

  it("judges an ongoing course up to now", () => {
    const c = course("azathioprine", 0);
    const f = makeFacts({
      labs: [lab("protein24h", -5, 4), lab("protein24h", 90, 3)],
      courses: [c],
    });
    expect(courseOutcome(f, c, dateAt(181)).outcome).toBe("too-short");
    expect(courseOutcome(f, c, dateAt(182)).outcome).toBe("failed");
  });
});

describe("courseOutcome windows (docs/clinical-rules.md#4-prior-courses)", () => {
  it("a course baseline 90 days before the start is used; 91 days before is not", () => {
    // With a 4 g baseline, 1.5 on day 90 is PR-level; without a baseline it is no response.
    expect(outcome([lab("protein24h", -90, 4), lab("protein24h", 90, 1.5)])).toBe("responded");
    expect(outcome([lab("protein24h", -91, 4), lab("protein24h", 90, 1.5)])).toBe("failed");
  });

  it("a course baseline 14 days after the start is used; 15 days after is not", () => {
    expect(outcome([lab("protein24h", 14, 4), lab("protein24h", 90, 1.5)])).toBe("responded");
    expect(outcome([lab("protein24h", 15, 4), lab("protein24h", 90, 1.5)])).toBe("failed");
  });

  it("the on-course window ends at course end + 30 days: a response at end+30 counts, end+31 not", () => {
    // Course days 0–200, baseline 4, no response on course (3.5 on day 90).
    const labs = (day: number) => [
      lab("protein24h", -5, 4),
      lab("protein24h", 90, 3.5),
      lab("protein24h", day, 1.5),
    ];
    expect(outcome(labs(230))).toBe("responded");
    expect(outcome(labs(231))).toBe("failed");
  });
});
