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

describe("refractoryEligibility (kang2020, docs/clinical-rules.md#5-eligibility)", () => {
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

describe("refractoryEligibility boundaries (docs/clinical-rules.md#5-eligibility)", () => {
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

describe("a previous iguratimod course (docs/clinical-rules.md#5-eligibility)", () => {
  const eligible = [...noResponse, lab("protein24h", 550, 2.0)];
  const judge = (igu: ReturnType<typeof course>, labs = eligible, day = 560) =>
    refractoryEligibility(makeFacts({ courses: [...failedCourses, igu], labs }), dateAt(day));

  it("an ended course rules out a new start whatever the other criteria say", () => {
    const r = judge(course("iguratimod", 300, 420));
    expect(r).toMatchObject({ verdict: "not-eligible", unmetCriteria: ["iguratimod-not-tried"] });
    expect(r?.previousIguratimod.map((p) => [p.outcome.outcome, p.intolerance])).toEqual([
      ["too-short", false],
    ]);
    expect(r?.evidence).toContain("MedicationStatement/iguratimod-300");
  });

  it("a course still running at `now` is not previous: on iguratimod, no verdict", () => {
    expect(judge(course("iguratimod", 300))).toBeUndefined();
    expect(judge(course("iguratimod", 300, 560), eligible, 559)).toBeUndefined();
  });

  it.each([
    ["407563006 |Treatment not tolerated|", { codes: ["407563006"], text: "" }],
    ["281647001 |Adverse reaction|", { codes: ["281647001"], text: "" }],
    [
      "text naming a side effect",
      { codes: [], text: "stopped: drug-induced hepatitis, adverse event" },
    ],
  ])("stopped for an adverse event (%s) is an intolerance", (_name, reason) => {
    const r = judge(course("iguratimod", 300, 420, { reasons: [reason] }));
    expect(r?.previousIguratimod[0]?.intolerance).toBe(true);
    expect(r?.summary).toContain(": intolerance)");
  });

  it("a stop for lupus activity is not an intolerance", () => {
    const reason = { codes: [], text: "Extra-renal lupus activity: thrombocytopenia, falling C3" };
    const r = judge(course("iguratimod", 300, 420, { reasons: [reason] }));
    expect(r?.previousIguratimod[0]).toMatchObject({
      intolerance: false,
      stopReason: reason.text,
    });
  });

  it("a grade-3 value during the course (Hb 79.9) is an intolerance; Hb 80 is not", () => {
    const igu = course("iguratimod", 300, 420);
    const at = (hb: number) =>
      judge(igu, [...eligible, lab("hemoglobin", 290, 125), lab("hemoglobin", 400, hb)])
        ?.previousIguratimod[0];
    expect(at(79.9)).toMatchObject({ intolerance: true, criticalValue: { value: 79.9, grade: 3 } });
    expect(at(80)?.intolerance).toBe(false);
  });

  it("a grade-3 ALT (> 5×ULN) within 30 days after the stop is an intolerance", () => {
    const igu = course("iguratimod", 300, 420);
    const at = (day: number, alt: number) =>
      judge(igu, [...eligible, lab("alt", 290, 20), lab("alt", day, alt)])?.previousIguratimod[0];
    expect(at(449, 201)?.intolerance).toBe(true);
    expect(at(449, 200)?.intolerance).toBe(false);
    expect(at(451, 400)?.intolerance).toBe(false);
  });
});
