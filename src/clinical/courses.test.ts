import { describe, expect, it } from "vitest";
import type { Agent } from "./codes.js";
import { mergeCourses } from "./courses.js";
import type { MedicationStatementFact, ReasonFact } from "./facts.js";
import { at } from "./test-facts.js";
import { defaultThresholds, withOverrides } from "./thresholds.js";

function record(
  ref: string,
  agent: Agent,
  startDay: number,
  endDay?: number,
  status = endDay === undefined ? "active" : "completed",
  reasons: ReasonFact[] = [],
): MedicationStatementFact {
  return {
    agent,
    ref: `MedicationStatement/${ref}`,
    start: at(startDay),
    ...(endDay !== undefined ? { end: at(endDay) } : {}),
    status,
    reasons,
  };
}

describe("mergeCourses (docs/clinical-rules.md#2-medications)", () => {
  it("records 30 days apart are one course, 31 days apart two (courseMergeGapDays)", () => {
    expect(defaultThresholds.courseMergeGapDays.value).toBe(30);
    const joined = mergeCourses([record("a", "tacrolimus", 0, 60), record("b", "tacrolimus", 90)]);
    expect(joined).toEqual([
      {
        agent: "tacrolimus",
        start: at(0),
        refs: ["MedicationStatement/a", "MedicationStatement/b"],
        status: "active",
        reasons: [],
      },
    ]);
    const split = mergeCourses([record("a", "tacrolimus", 0, 60), record("b", "tacrolimus", 91)]);
    expect(split.map((c) => c.refs)).toEqual([
      ["MedicationStatement/a"],
      ["MedicationStatement/b"],
    ]);
    expect(split[0]?.end).toBe(at(60));
  });

  it("takes the gap from the thresholds a site passes", () => {
    const records = [record("a", "tacrolimus", 0, 60), record("b", "tacrolimus", 100, 200)];
    expect(mergeCourses(records)).toHaveLength(2);
    const wide = withOverrides({ courseMergeGapDays: 60 });
    expect(mergeCourses(records, wide)).toEqual([
      {
        agent: "tacrolimus",
        start: at(0),
        end: at(200),
        refs: ["MedicationStatement/a", "MedicationStatement/b"],
        status: "completed",
        reasons: [],
      },
    ]);
  });

  it("an open record swallows every later one of its agent; other agents stay apart", () => {
    const courses = mergeCourses([
      record("late", "tacrolimus", 400, 500),
      record("open", "tacrolimus", 0),
      record("mmf", "mycophenolate", 10, 20),
    ]);
    expect(courses.map((c) => [c.agent, c.refs, c.end])).toEqual([
      ["tacrolimus", ["MedicationStatement/open", "MedicationStatement/late"], undefined],
      ["mycophenolate", ["MedicationStatement/mmf"], at(20)],
    ]);
  });

  it("a course keeps the status of its latest-starting record and every record's reasons", () => {
    const sideEffect: ReasonFact = { codes: [], text: "leukopenia" };
    const courses = mergeCourses([
      record("b", "azathioprine", 50, 120, "stopped", [sideEffect]),
      record("a", "azathioprine", 0, 100, "completed", [{ codes: ["x"], text: "" }]),
    ]);
    expect(courses).toHaveLength(1);
    expect(courses[0]?.status).toBe("stopped");
    expect(courses[0]?.end).toBe(at(120));
    expect(courses[0]?.refs).toEqual(["MedicationStatement/a", "MedicationStatement/b"]);
    expect(courses[0]?.reasons).toEqual([{ codes: ["x"], text: "" }, sideEffect]);
  });

  it("courses come sorted by start, then by agent", () => {
    const courses = mergeCourses([
      record("t", "tacrolimus", 10, 20),
      record("c", "cyclophosphamide", 10, 20),
      record("m", "mycophenolate", 0, 5),
    ]);
    expect(courses.map((c) => c.agent)).toEqual([
      "mycophenolate",
      "cyclophosphamide",
      "tacrolimus",
    ]);
  });
});
