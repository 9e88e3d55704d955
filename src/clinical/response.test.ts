import { describe, expect, it } from "vitest";
import { week24Response } from "./response.js";
import { course, dateAt, lab, makeFacts } from "./test-facts.js";
import type { LabFact } from "./facts.js";

const igu = [course("iguratimod", 0)];
/** Baseline: 4 g/24h, creatinine 70, albumin 25, plus the week-24 labs given. */
function patient(week24: LabFact[], extra: LabFact[] = []) {
  return makeFacts({
    courses: igu,
    labs: [
      lab("protein24h", -3, 4),
      lab("creatinine", -3, 70),
      lab("albumin", -3, 25),
      ...week24,
      ...extra,
    ],
  });
}
const w24 = (
  protein: number,
  opts: { creat?: number; alb?: number; rbc?: number; casts?: number; day?: number } = {},
) => {
  const d = opts.day ?? 168;
  return [
    lab("protein24h", d, protein),
    lab("creatinine", d, opts.creat ?? 70),
    lab("albumin", d, opts.alb ?? 35),
    ...(opts.rbc !== undefined ? [lab("urineRbc", d, opts.rbc)] : []),
    ...(opts.casts !== undefined ? [lab("rbcCasts", d, opts.casts)] : []),
  ];
};
const verdict = (labs: LabFact[], now = dateAt(190)) =>
  week24Response(patient(labs), now)?.week24?.kang2020;

describe("week24Response kang2020 (docs/clinical-rules.md#6-response)", () => {
  it("protein 0.299 with normal creatinine is CR; 0.300 falls to PR", () => {
    expect(verdict(w24(0.299, { rbc: 2, casts: 0 }))).toBe("CR");
    expect(verdict(w24(0.3, { rbc: 2, casts: 0 }))).toBe("PR");
  });

  it("protein 2.000 at ≤ 50 % is PR; 2.001 is NR", () => {
    expect(verdict(w24(2.0))).toBe("PR");
    expect(verdict(w24(2.001))).toBe("NR");
  });

  it("exactly 50 % of baseline is PR; just above is NR", () => {
    const f = (p: number) =>
      week24Response(
        makeFacts({
          courses: igu,
          labs: [lab("protein24h", -3, 3), lab("creatinine", -3, 70), ...w24(p)],
        }),
        dateAt(190),
      )?.week24?.kang2020;
    expect(f(1.5)).toBe("PR");
    expect(f(1.501)).toBe("NR");
  });

  it("albumin 30.0 is NR, 30.1 is PR", () => {
    expect(verdict(w24(1, { alb: 30 }))).toBe("NR");
    expect(verdict(w24(1, { alb: 30.1 }))).toBe("PR");
  });

  it("creatinine 125 % of baseline is PR, 125.1 % is NR", () => {
    expect(verdict(w24(1, { creat: 87.5 }))).toBe("PR");
    expect(verdict(w24(1, { creat: 87.57 }))).toBe("NR");
  });

  it("CR needs creatinine ≤ ULN and sediment quiet; missing sediment is disclosed, not blocking", () => {
    // creatinine 80 above the Observation's own ULN 75 (but ≤ 125 % of baseline): PR, not CR
    const aboveUln = [
      lab("protein24h", 168, 0.1),
      lab("creatinine", 168, 80, { referenceRange: { high: 75 } }),
      lab("albumin", 168, 40),
    ];
    expect(verdict(aboveUln)).toBe("PR");
    expect(verdict(w24(0.1, { rbc: 6, casts: 0 }))).toBe("PR");
    expect(verdict(w24(0.1, { rbc: 5, casts: 1 }))).toBe("PR");
    const r = week24Response(patient(w24(0.1)), dateAt(190));
    expect(r?.week24).toMatchObject({ kang2020: "CR", sedimentMissing: true });
    expect(r?.notes.some((n) => n.reason === "sediment-missing")).toBe(true);
  });

  it("a missing albumin leaves PR undecided: insufficient data", () => {
    const labs = [lab("protein24h", 168, 1), lab("creatinine", 168, 70)];
    expect(verdict(labs)).toBe("insufficient-data");
  });

  it("assessment window is day 140–196: values on day 139 and 197 are not used", () => {
    expect(week24Response(patient(w24(1, { day: 139 })), dateAt(200))?.code).toBe(
      "week24-insufficient-data",
    );
    expect(week24Response(patient(w24(1, { day: 197 })), dateAt(200))?.code).toBe(
      "week24-insufficient-data",
    );
    expect(week24Response(patient(w24(1, { day: 140 })), dateAt(200))?.week24?.kang2020).toBe("PR");
    expect(week24Response(patient(w24(1, { day: 196 })), dateAt(200))?.week24?.kang2020).toBe("PR");
  });

  it("before day 140 it is an interim report with weeks on drug and proteinuria change", () => {
    const r = week24Response(patient([lab("protein24h", 84, 2)]), dateAt(139));
    expect(r).toMatchObject({
      code: "response-interim",
      weeksOnDrug: 19,
      proteinuriaChangePercent: -50,
    });
  });

  it("stopped before day 140: discontinued early with the last on-treatment status", () => {
    const f = makeFacts({
      courses: [course("iguratimod", 0, 84)],
      labs: [
        lab("protein24h", -3, 3.92),
        lab("creatinine", -3, 63),
        lab("albumin", -3, 28),
        ...w24(0.47, { day: 84 }),
      ],
    });
    const r = week24Response(f, dateAt(300));
    expect(r).toMatchObject({
      code: "week24-discontinued-early",
      lastStatus: "PR",
      weeksOnDrug: 12,
    });
  });

  it("UPCR substitutes when no 24-h protein is in the window, and says so", () => {
    const labs = [lab("upcr", 168, 1), lab("creatinine", 168, 70), lab("albumin", 168, 35)];
    const r = week24Response(patient(labs), dateAt(190));
    expect(r?.week24).toMatchObject({ kang2020: "PR", upcrSubstituted: true });
    expect(r?.notes.some((n) => n.reason === "upcr-substituted")).toBe(true);
  });

  it("kdigo2024 is judged beside kang2020: CR < 0.5 with stable eGFR", () => {
    const r = week24Response(patient(w24(0.4)), dateAt(190));
    expect(r?.criteria).toEqual({ kang2020: "PR", kdigo2024: "CR" });
  });

  describe("kdigo2024 boundaries", () => {
    /** Baseline protein `base` g/24h and creatinine 70 at day −3, the labs given at week 24. */
    const kdigo = (base: number, labs: LabFact[]) =>
      week24Response(
        makeFacts({
          courses: igu,
          labs: [lab("protein24h", -3, base), lab("creatinine", -3, 70), ...labs],
        }),
        dateAt(190),
      )?.week24?.kdigo2024;

    it("CR below 0.5; at 0.5 it is judged as PR (≥ 50 % reduction to < 3)", () => {
      expect(kdigo(4, w24(0.499))).toBe("CR");
      expect(kdigo(4, w24(0.5))).toBe("PR");
    });

    it("PR needs ≤ 50 % of baseline and < 3; otherwise NR", () => {
      expect(kdigo(4, w24(2.0))).toBe("PR");
      expect(kdigo(4, w24(2.001))).toBe("NR");
      expect(kdigo(7, w24(2.999))).toBe("PR");
      expect(kdigo(7, w24(3.0))).toBe("NR");
    });

    it("kidney function: an eGFR exactly 15 % below baseline is stable, lower is NR", () => {
      const egfrs = (now: number) => [lab("egfr", -3, 100), lab("egfr", 168, now)];
      expect(kdigo(4, [...w24(0.4), ...egfrs(85)])).toBe("CR");
      expect(kdigo(4, [...w24(0.4), ...egfrs(84.9)])).toBe("NR");
    });

    it("the baseline eGFR comes from the baseline window [day −30, day +7], not beyond it", () => {
      // Creatinine 70 at baseline and at week 24: the computed eGFRs are equal, so stable.
      expect(kdigo(4, [...w24(0.4), lab("egfr", 10, 200)])).toBe("CR");
      expect(kdigo(4, [...w24(0.4), lab("egfr", -20, 200)])).toBe("NR");
    });
  });

  it("creatinine reported in mg/dL meets the rules' mg/dL ULN: 1.1 mg/dL (97.24 umol/L) is at a woman's ULN", () => {
    // As the normaliser records them: the value in umol/L, the reported value beside it.
    const mgDl = (value: number, umol: number) =>
      lab("creatinine", 168, umol, { original: { value, unit: "mg/dL" } });
    const kangWith = (creat: LabFact, sex: "female" | "male" = "female") =>
      week24Response(
        makeFacts({
          sex,
          courses: igu,
          labs: [
            lab("protein24h", -3, 4),
            lab("creatinine", -3, 100), // so every value here is ≤ 125 % of baseline (PR)
            lab("protein24h", 168, 0.2),
            lab("albumin", 168, 35),
            creat,
          ],
        }),
        dateAt(190),
      )?.week24?.kang2020;
    expect(kangWith(mgDl(1.1, 97.2419))).toBe("CR");
    expect(kangWith(mgDl(1.2, 106.082))).toBe("PR");
    expect(kangWith(mgDl(1.3, 114.9222), "male")).toBe("CR");
    expect(kangWith(mgDl(1.4, 123.6024), "male")).toBe("PR");
    // In umol/L the umol/L ULN holds as written; a lab's own reference range always wins.
    expect(kangWith(lab("creatinine", 168, 97.2419))).toBe("PR");
    expect(
      kangWith(
        lab("creatinine", 168, 106.082, {
          original: { value: 1.2, unit: "mg/dL" },
          referenceRange: { high: 110 },
        }),
      ),
    ).toBe("CR");
  });

  it("renal relapse after PR: ≥ 2 × lowest and ≥ 1.0 while on iguratimod", () => {
    const later = [lab("protein24h", 250, 0.6), lab("protein24h", 400, 1.2)];
    expect(week24Response(patient(w24(1), later), dateAt(420))?.code).toBe("renal-relapse");
    const stable = [lab("protein24h", 250, 0.6), lab("protein24h", 400, 1.19)];
    expect(week24Response(patient(w24(1), stable), dateAt(420))?.code).toBe("remission-maintained");
  });

  it("renal relapse after CR: proteinuria above 0.5", () => {
    const r = week24Response(patient(w24(0.2), [lab("protein24h", 300, 0.51)]), dateAt(320));
    expect(r).toMatchObject({
      code: "renal-relapse",
      followUp: { status: "relapse", flare: "proteinuria" },
    });
  });

  it("nephritic flare: creatinine ≥ 130 % of week 24 with active sediment", () => {
    const later = [
      lab("protein24h", 300, 0.2),
      lab("creatinine", 300, 91),
      lab("urineRbc", 300, 10),
    ];
    const r = week24Response(patient(w24(0.2), later), dateAt(320));
    expect(r).toMatchObject({ code: "renal-relapse", followUp: { flare: "nephritic" } });
  });
});

describe("week24Response boundaries (docs/clinical-rules.md#6-response)", () => {
  it("CR: urine RBC exactly 5/HPF with casts 0 is CR; 5.1/HPF is not CR (judged as PR)", () => {
    expect(verdict(w24(0.1, { rbc: 5, casts: 0 }))).toBe("CR");
    expect(verdict(w24(0.1, { rbc: 5.1, casts: 0 }))).toBe("PR");
    expect(verdict(w24(0.1, { rbc: 6, casts: 0 }))).toBe("PR");
  });

  it("CR: creatinine exactly the female default ULN (97 µmol/L) allows CR; 97.1 is not CR", () => {
    // Baseline creatinine 80, so 97.1 is still ≤ 125 % of baseline and the verdict falls to PR.
    const f = (creat: number) =>
      week24Response(
        makeFacts({
          courses: igu,
          labs: [
            lab("protein24h", -3, 4),
            lab("creatinine", -3, 80),
            lab("albumin", -3, 25),
            ...w24(0.1, { creat, rbc: 2, casts: 0 }),
          ],
        }),
        dateAt(190),
      )?.week24?.kang2020;
    expect(f(97)).toBe("CR");
    expect(f(97.1)).toBe("PR");
  });

  describe("nephritic flare after a week-24 CR (creatinine 70 at week 24)", () => {
    /** Week-24 CR (protein 0.2, creatinine 70), then the labs given on day 300; judged on day 320. */
    const followUp = (later: LabFact[]) =>
      week24Response(
        patient(w24(0.2, { rbc: 2, casts: 0 }), [lab("protein24h", 300, 0.2), ...later]),
        dateAt(320),
      );

    it("creatinine exactly 130 % of week 24 (91) with urine RBC 6/HPF is a renal relapse", () => {
      const r = followUp([lab("creatinine", 300, 91), lab("urineRbc", 300, 6)]);
      expect(r?.week24?.kang2020).toBe("CR");
      expect(r).toMatchObject({
        code: "renal-relapse",
        followUp: { status: "relapse", flare: "nephritic" },
      });
    });

    it("creatinine 129.9 % of week 24 (90.93) with urine RBC 6/HPF is not a relapse", () => {
      const r = followUp([lab("creatinine", 300, 90.93), lab("urineRbc", 300, 6)]);
      expect(r).toMatchObject({ code: "remission-maintained", followUp: { status: "maintained" } });
    });

    it("creatinine 130 % with urine RBC exactly 5/HPF and no casts is not a relapse", () => {
      const r = followUp([
        lab("creatinine", 300, 91),
        lab("urineRbc", 300, 5),
        lab("rbcCasts", 300, 0),
      ]);
      expect(r).toMatchObject({ code: "remission-maintained", followUp: { status: "maintained" } });
    });

    it("creatinine 130 % with RBC casts present (RBC ≤ 5/HPF) is a renal relapse", () => {
      const r = followUp([
        lab("creatinine", 300, 91),
        lab("urineRbc", 300, 5),
        lab("rbcCasts", 300, 1),
      ]);
      expect(r).toMatchObject({
        code: "renal-relapse",
        followUp: { status: "relapse", flare: "nephritic" },
      });
    });
  });

  it("proteinuria flare after PR where the ≥ 1.0 g/24h floor decides: lowest 0.4, 0.9 is not, 1.0 is", () => {
    // Week-24 PR at 0.5 (baseline 4), lowest 0.4 on day 250: 2 × lowest = 0.8 < 1.0.
    const r = (value: number) =>
      week24Response(
        patient(w24(0.5), [lab("protein24h", 250, 0.4), lab("protein24h", 400, value)]),
        dateAt(420),
      );
    expect(r(0.9)?.week24?.kang2020).toBe("PR");
    expect(r(0.9)).toMatchObject({ code: "remission-maintained" });
    expect(r(1.0)).toMatchObject({
      code: "renal-relapse",
      followUp: { status: "relapse", flare: "proteinuria" },
    });
  });
});
