import { describe, expect, it } from "vitest";
import { activePregnancy, iguratimodOrderChecks, type DraftOrderFacts } from "./order-checks.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";

const mgLine = (mg: number, timesPerDay: number, sequence?: number) => ({
  ...(sequence !== undefined ? { sequence } : {}),
  sent: `${mg} mg, ${timesPerDay} per 1 d`,
  amount: { kind: "mass" as const, value: mg, mgFactor: 1 },
  timing: { frequency: timesPerDay, period: 1, periodDays: 1, periodUnit: "d" },
});
const draftOf = (...lines: ReturnType<typeof mgLine>[]): DraftOrderFacts => ({
  ref: "MedicationRequest/d",
  isIguratimod: true,
  lines,
});
const studyDraft = draftOf(mgLine(25, 2));
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
    lab("albumin", 550, 31),
    lab("urineRbc", 550, 4),
  ],
};
const codes = (fs: { code: string; indicator: string }[]) =>
  fs.map((f) => `${f.code}:${f.indicator}`);

describe("iguratimodOrderChecks (docs/clinical-rules.md#8-ordering)", () => {
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
    expect(out[1]).toMatchObject({
      missing: ["hemoglobin", "alt", "creatinine", "proteinuria", "albumin", "urineSediment"],
    });
    expect(codes(iguratimodOrderChecks(f, studyDraft, dateAt(570)))[1]).toBe(
      "baseline-labs-missing:warning",
    );
    expect(iguratimodOrderChecks(f, studyDraft, dateAt(570))[1]).toMatchObject({
      missing: ["alt", "creatinine", "albumin", "urineSediment"],
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

  it("dose: above 50 mg/day a warning, other regimens up to 50 info, the study regimen nothing", () => {
    const f = makeFacts(eligibleHistory);
    const check = (d: DraftOrderFacts) =>
      iguratimodOrderChecks(f, d, dateAt(560)).find((x) => x.code === "dose-check");
    expect(check(studyDraft)).toBeUndefined();
    expect(check(draftOf(mgLine(25, 3)))).toMatchObject({ indicator: "warning" });
    expect(check(draftOf(mgLine(50, 1)))).toMatchObject({ indicator: "info" });
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

describe("pregnancy Observation validity (docs/clinical-rules.md#8-ordering)", () => {
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

describe("lab-contraindication: the latest Hb and ALT at order, whatever their age", () => {
  const check = (labs: ReturnType<typeof lab>[]) =>
    iguratimodOrderChecks(
      makeFacts({ ...eligibleHistory, labs: [...eligibleHistory.labs, ...labs] }),
      studyDraft,
      dateAt(560),
    ).find((x) => x.code === "lab-contraindication");

  it("Hb 100 no card, 99.9 warning (grade 2); 80 warning, 79.9 critical (grade 3)", () => {
    const at = (hb: number) => check([lab("hemoglobin", 555, hb)]);
    expect(at(100)).toBeUndefined();
    expect(at(99.9)).toMatchObject({ indicator: "warning", grade: 2 });
    expect(at(80)).toMatchObject({ indicator: "warning", grade: 2 });
    expect(at(79.9)).toMatchObject({ indicator: "critical", grade: 3 });
    expect(at(79.9)?.summary).toBe("Do not start iguratimod: Hb 79.9 g/L on 2025-07-09 (grade 3)");
  });

  it("ALT at 3×ULN (120 U/L, female ULN 40) no card, above it warning; at 5×ULN warning, above critical", () => {
    const at = (alt: number) => check([lab("alt", 555, alt)]);
    expect(at(120)).toBeUndefined();
    expect(at(120.1)).toMatchObject({ indicator: "warning", grade: 2 });
    expect(at(200)).toMatchObject({ indicator: "warning", grade: 2 });
    expect(at(200.1)).toMatchObject({ indicator: "critical", grade: 3 });
  });

  it("shows Hb as the lab reports it (an integer), with a decimal only where rounding would change the grade", () => {
    const at = (hb: number, original = hb, unit = "g/L") =>
      check([lab("hemoglobin", 555, hb, { original: { value: original, unit } })])?.summary;
    expect(at(75)).toMatch(/: Hb 75 g\/L on /);
    // 4.65 mmol/L × 16.1145 = 74.93 g/L: shown as 75, never 74.9324.
    expect(at(74.9324, 4.65, "mmol/L")).toMatch(/: Hb 75 g\/L on /);
    expect(at(99.9)).toMatch(/: Hb 99.9 g\/L on /);
  });

  it("the lab's own reference range sets the ULN", () => {
    const alt = lab("alt", 555, 160, { referenceRange: { high: 50 } });
    expect(check([alt])).toMatchObject({ indicator: "warning", grade: 2 });
  });

  it("a year-old Hb 75 is still the latest, and still critical", () => {
    const f = makeFacts({
      courses: eligibleHistory.courses,
      labs: [
        ...eligibleHistory.labs.filter((l) => l.kind !== "hemoglobin"),
        lab("hemoglobin", 190, 75),
      ],
    });
    const out = codes(iguratimodOrderChecks(f, studyDraft, dateAt(560)));
    expect(out).toContain("lab-contraindication:critical");
    expect(out).toContain("baseline-labs-missing:warning");
  });

  it("a later normal value replaces an old low one", () => {
    expect(check([lab("hemoglobin", 500, 70), lab("hemoglobin", 555, 121)])).toBeUndefined();
  });
});

describe("a previous iguratimod course and iguratimod already active at order", () => {
  const withCourse = (igu: ReturnType<typeof course>, labs: ReturnType<typeof lab>[] = []) =>
    iguratimodOrderChecks(
      makeFacts({
        courses: [...eligibleHistory.courses, igu],
        labs: [...eligibleHistory.labs, ...labs],
      }),
      studyDraft,
      dateAt(560),
    );

  it("stopped for intolerance: critical, with the not-eligible eligibility warning", () => {
    const out = withCourse(
      course("iguratimod", 300, 400, {
        reasons: [{ codes: ["407563006"], text: "Severe anaemia" }],
      }),
    );
    expect(codes(out)).toEqual([
      "refractory-ln-not-eligible:warning",
      "iguratimod-previously-tried:critical",
    ]);
    expect(out[1]?.summary).toBe(
      "Iguratimod was stopped for intolerance before (2024-10-27 to 2025-02-04; stopped: Severe anaemia)",
    );
  });

  it("failed (≥ 182 days without response): warning", () => {
    const out = withCourse(course("iguratimod", 300, 500), [lab("protein24h", 400, 3.9)]);
    expect(codes(out)).toContain("iguratimod-previously-tried:warning");
    expect(out.find((f) => f.code === "iguratimod-previously-tried")?.summary).toMatch(
      /^Iguratimod tried before and failed \(/,
    );
  });

  it("responded, then stopped for another reason: info", () => {
    const out = withCourse(course("iguratimod", 300, 500), [lab("protein24h", 420, 0.2)]);
    expect(codes(out)).toEqual([
      "refractory-ln-not-eligible:warning",
      "iguratimod-previously-tried:info",
    ]);
  });

  it("iguratimod already active: duplicate-therapy warning, and eligibility does not speak", () => {
    const out = withCourse(course("iguratimod", 500));
    expect(codes(out)).toEqual(["duplicate-therapy:warning"]);
    expect(out[0]?.summary).toBe(
      "Iguratimod is already active (since 2025-05-15): this order would duplicate it",
    );
  });
});
