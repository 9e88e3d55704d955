import { describe, expect, it } from "vitest";
import { activePregnancy, iguratimodOrderChecks, type DraftOrderFacts } from "./order-checks.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";

const studyDraft: DraftOrderFacts = {
  ref: "MedicationRequest/d",
  isIguratimod: true,
  doseMg: 25,
  timesPerDay: 2,
  dailyDoseMg: 50,
  regimenText: "25 mg twice daily",
  notes: [],
};
const eligibleHistory = {
  courses: [course("cyclophosphamide", 0, 200), course("mycophenolate", 250, 500)],
  labs: [
    lab("protein24h", -5, 4),
    lab("protein24h", 100, 3.8),
    lab("protein24h", 245, 4),
    lab("protein24h", 400, 3.5),
    lab("protein24h", 550, 3),
    lab("hemoglobin", 550, 125),
    lab("alt", 550, 20),
    lab("creatinine", 550, 70),
  ],
};
const codes = (fs: { code: string; indicator: string }[]) =>
  fs.map((f) => `${f.code}:${f.indicator}`);

describe("iguratimodOrderChecks (clinical-rules §8)", () => {
  it("an eligible patient with recent labs and the study dose gets only the eligibility info", () => {
    expect(
      codes(iguratimodOrderChecks(makeFacts(eligibleHistory), studyDraft, dateAt(560))),
    ).toEqual(["refractory-ln-eligible:info"]);
  });

  it("a draft that is not iguratimod gets nothing", () => {
    expect(
      iguratimodOrderChecks(
        makeFacts(eligibleHistory),
        { ...studyDraft, isIguratimod: false },
        dateAt(560),
      ),
    ).toEqual([]);
  });

  it("warns on a not-eligible verdict and on labs older than 30 days, listing which", () => {
    const f = makeFacts({
      courses: [course("cyclophosphamide", 0, 200)],
      labs: [lab("protein24h", 540, 3), lab("hemoglobin", 540, 120)],
    });
    const out = iguratimodOrderChecks(f, studyDraft, dateAt(580));
    expect(codes(out)).toEqual([
      "refractory-ln-not-eligible:warning",
      "baseline-labs-missing:warning",
    ]);
    expect(out[1]).toMatchObject({ missing: ["hemoglobin", "alt", "creatinine"] });
    expect(codes(iguratimodOrderChecks(f, studyDraft, dateAt(570)))[1]).toBe(
      "baseline-labs-missing:warning",
    );
    expect(iguratimodOrderChecks(f, studyDraft, dateAt(570))[1]).toMatchObject({
      missing: ["alt", "creatinine"],
    });
  });

  it("active warfarin is critical; stopped warfarin is not", () => {
    const on = makeFacts({
      ...eligibleHistory,
      courses: [...eligibleHistory.courses, course("warfarin", 300)],
    });
    const off = makeFacts({
      ...eligibleHistory,
      courses: [...eligibleHistory.courses, course("warfarin", 300, 400)],
    });
    expect(codes(iguratimodOrderChecks(on, studyDraft, dateAt(560)))).toContain(
      "warfarin-interaction:critical",
    );
    expect(codes(iguratimodOrderChecks(off, studyDraft, dateAt(560)))).not.toContain(
      "warfarin-interaction:critical",
    );
  });

  it("dose above 50 mg/day or other than 25 mg twice daily is a warning", () => {
    const f = makeFacts(eligibleHistory);
    const check = (d: Partial<DraftOrderFacts>) =>
      iguratimodOrderChecks(f, { ...studyDraft, ...d }, dateAt(560)).find(
        (x) => x.code === "dose-check",
      );
    expect(check({})).toBeUndefined();
    expect(check({ doseMg: 25, timesPerDay: 3, dailyDoseMg: 75 })).toMatchObject({
      reasons: ["above-max-daily-dose", "not-study-regimen"],
    });
    expect(check({ doseMg: 50, timesPerDay: 1, dailyDoseMg: 50 })).toMatchObject({
      reasons: ["not-study-regimen"],
    });
  });

  it("another active immunosuppressant is info", () => {
    const f = makeFacts({
      ...eligibleHistory,
      courses: [...eligibleHistory.courses, course("tacrolimus", 520)],
    });
    const c = iguratimodOrderChecks(f, studyDraft, dateAt(560)).find(
      (x) => x.code === "concurrent-immunosuppressant",
    );
    expect(c).toMatchObject({ indicator: "info", agents: ["tacrolimus"] });
  });

  it("active pregnancy (Condition or LOINC 82810-3) is critical", () => {
    const byCondition = makeFacts({
      ...eligibleHistory,
      pregnancy: [
        { ref: "Condition/preg", source: "condition", pregnant: true, time: dateAt(500).getTime() },
      ],
    });
    expect(codes(iguratimodOrderChecks(byCondition, studyDraft, dateAt(560)))).toContain(
      "pregnancy-contraindication:critical",
    );
    const resolved = [
      {
        ref: "Observation/p1",
        source: "observation" as const,
        pregnant: true,
        time: dateAt(500).getTime(),
      },
      {
        ref: "Observation/p2",
        source: "observation" as const,
        pregnant: false,
        time: dateAt(540).getTime(),
      },
    ];
    expect(activePregnancy(makeFacts({ pregnancy: resolved }), dateAt(560))).toEqual([]);
    expect(activePregnancy(makeFacts({ pregnancy: resolved.slice(0, 1) }), dateAt(560))).toEqual([
      "Observation/p1",
    ]);
  });
});

describe("pregnancy Observation validity (clinical-rules §8)", () => {
  const positive = (day: number) => [
    {
      ref: "Observation/preg",
      source: "observation" as const,
      pregnant: true,
      time: dateAt(day).getTime(),
    },
  ];

  it("a positive LOINC 82810-3 Observation counts for exactly 280 days, not 281", () => {
    expect(activePregnancy(makeFacts({ pregnancy: positive(280) }), dateAt(560))).toEqual([
      "Observation/preg",
    ]);
    expect(activePregnancy(makeFacts({ pregnancy: positive(279) }), dateAt(560))).toEqual([]);
  });

  it("the order check is critical at 280 days and silent about pregnancy at 281", () => {
    const check = (day: number) =>
      codes(
        iguratimodOrderChecks(
          makeFacts({ ...eligibleHistory, pregnancy: positive(day) }),
          studyDraft,
          dateAt(560),
        ),
      );
    expect(check(280)).toContain("pregnancy-contraindication:critical");
    expect(check(279)).not.toContain("pregnancy-contraindication:critical");
  });
});
