import { describe, expect, it } from "vitest";
import { refractoryEligibility } from "./eligibility.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";

const failedCourses = [course("cyclophosphamide", 0, 200), course("mycophenolate", 250, 500)];
const noResponse = [
  lab("protein24h", -5, 4),
  lab("protein24h", 100, 3.8),
  lab("protein24h", 245, 4),
  lab("protein24h", 400, 3.5),
];

describe("refractoryEligibility (kang2020, §5)", () => {
  it("two failed agents and proteinuria ≥ 1.0 in 90 days: eligible", () => {
    const f = makeFacts({
      courses: failedCourses,
      labs: [...noResponse, lab("protein24h", 550, 1.0)],
    });
    const r = refractoryEligibility(f, dateAt(560));
    expect(r).toMatchObject({ code: "refractory-ln-eligible", verdict: "eligible" });
    expect(r?.failedAgents).toEqual(["cyclophosphamide", "mycophenolate"]);
    expect(r?.courses.map((c) => c.outcome)).toEqual(["failed", "failed"]);
  });

  it("proteinuria 0.99 is not eligible, naming the criterion", () => {
    const f = makeFacts({
      courses: failedCourses,
      labs: [...noResponse, lab("protein24h", 550, 0.99)],
    });
    expect(refractoryEligibility(f, dateAt(560))).toMatchObject({
      verdict: "not-eligible",
      unmetCriteria: ["proteinuria-1g"],
    });
  });

  it("one failed agent is not eligible (study patient 11)", () => {
    const f = makeFacts({
      courses: [course("cyclophosphamide", 0, 200)],
      labs: [...noResponse, lab("protein24h", 550, 6)],
    });
    expect(refractoryEligibility(f, dateAt(560))).toMatchObject({
      verdict: "not-eligible",
      unmetCriteria: ["two-failed-agents"],
    });
  });

  it("no proteinuria in 90 days is insufficient data", () => {
    const f = makeFacts({ courses: failedCourses, labs: noResponse });
    expect(refractoryEligibility(f, dateAt(600))).toMatchObject({
      verdict: "insufficient-data",
      undecidedCriteria: ["proteinuria-1g"],
    });
  });

  it("an unknown-outcome course that could make two agents is insufficient data", () => {
    const f = makeFacts({
      courses: [course("cyclophosphamide", 0, 200), course("rituximab", 900, 950)],
      labs: [...noResponse.slice(0, 2), lab("protein24h", 990, 3)],
    });
    expect(refractoryEligibility(f, dateAt(1000))?.verdict).toBe("insufficient-data");
  });

  it("mycophenolate mofetil and mycophenolic acid count as one agent", () => {
    const f = makeFacts({
      courses: [course("mycophenolate", 0, 200), course("mycophenolate", 250, 500)],
      labs: [...noResponse, lab("protein24h", 550, 3)],
    });
    expect(refractoryEligibility(f, dateAt(560))?.verdict).toBe("not-eligible");
  });

  it("is not evaluated while on iguratimod", () => {
    const f = makeFacts({
      courses: [...failedCourses, course("iguratimod", 540)],
      labs: noResponse,
    });
    expect(refractoryEligibility(f, dateAt(560))).toBeUndefined();
    expect(refractoryEligibility(f, dateAt(540))).toBeDefined();
  });
});

describe("refractoryEligibility boundaries (clinical-rules §5)", () => {
  /** Two failed agents (courses end day 500) and one proteinuria value `daysAgo` before day 560. */
  const withLatest = (daysAgo: number, value: number) =>
    refractoryEligibility(
      makeFacts({
        courses: failedCourses,
        labs: [...noResponse, lab("protein24h", 560 - daysAgo, value)],
      }),
      dateAt(560),
    );

  it("the latest proteinuria exactly 90 days before now counts; 91 days does not", () => {
    expect(withLatest(90, 3)).toMatchObject({ verdict: "eligible", unmetCriteria: [] });
    expect(withLatest(91, 3)).toMatchObject({
      verdict: "insufficient-data",
      undecidedCriteria: ["proteinuria-1g"],
    });
  });

  it("proteinuria exactly 1.0 g/24h meets the criterion; 0.99 does not", () => {
    expect(withLatest(10, 1.0)).toMatchObject({ verdict: "eligible" });
    expect(withLatest(10, 0.99)).toMatchObject({
      verdict: "not-eligible",
      unmetCriteria: ["proteinuria-1g"],
    });
  });
});
