/**
 * The 14 patients of kang2020 Table 1 (fixtures/ generator) through normalise + rules.
 * One table states what the stated rules give; where that differs from the study's table a comment says why.
 */
import type { Bundle, FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { studyPatientBundles } from "../../fixtures/index.js";
import { normalisePatient } from "../fhir/normalise/index.js";
import { refractoryEligibility } from "./eligibility.js";
import type { PatientFacts } from "./facts.js";
import { currentIguratimodCourse, week24Response } from "./response.js";
import { anemiaFinding, liverFinding, monitoringOverdue, safetyAlertEvents } from "./safety.js";
import { seeded } from "../../test/support/seeded.js";

const REF = new Date("2026-01-15T00:00:00Z");

type Week24 = "CR" | "PR" | "NR" | "insufficient-data" | "discontinued-early";
interface Expected {
  readonly week24: Week24;
  readonly relapse: boolean;
  readonly eligibleAtStart: "eligible" | "not-eligible";
}

// prettier-ignore
const EXPECTED: Readonly<Record<string, Expected>> = {
  "kang-01": { week24: "PR", relapse: true, eligibleAtStart: "eligible" },
  "kang-02": { week24: "CR", relapse: false, eligibleAtStart: "eligible" },
  "kang-03": { week24: "PR", relapse: false, eligibleAtStart: "eligible" },
  // The study counted patient 4 as PR; she stopped iguratimod at week 12 (severe anaemia), before the
  // week-24 window opens on day 140, so the stated rule (docs/clinical-rules.md#6-response) reports "discontinued early".
  "kang-04": { week24: "discontinued-early", relapse: false, eligibleAtStart: "eligible" },
  "kang-05": { week24: "CR", relapse: false, eligibleAtStart: "eligible" },
  "kang-06": { week24: "CR", relapse: false, eligibleAtStart: "eligible" },
  "kang-07": { week24: "PR", relapse: true, eligibleAtStart: "eligible" },
  "kang-08": { week24: "NR", relapse: false, eligibleAtStart: "eligible" },
  "kang-09": { week24: "CR", relapse: false, eligibleAtStart: "eligible" },
  // Lost to follow-up after two visits: no proteinuria in days 140–196.
  "kang-10": { week24: "insufficient-data", relapse: false, eligibleAtStart: "eligible" },
  // Table 1 lists one prior agent (Cyc, PR → F); docs/clinical-rules.md#5-eligibility needs two failed agents, so the rule says not eligible.
  "kang-11": { week24: "PR", relapse: false, eligibleAtStart: "not-eligible" },
  "kang-12": { week24: "PR", relapse: true, eligibleAtStart: "eligible" },
  "kang-13": { week24: "PR", relapse: false, eligibleAtStart: "eligible" },
  "kang-14": { week24: "CR", relapse: false, eligibleAtStart: "eligible" },
};

function resourcesOf(b: Bundle): FhirResource[] {
  return (b.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));
}

function patientId(rs: readonly FhirResource[]): string {
  return rs.find((r) => r.resourceType === "Patient")?.id ?? "";
}

interface Summary {
  readonly week24: Week24 | undefined;
  readonly relapse: boolean;
  readonly eligibleAtStart: string | undefined;
}

function summarise(f: PatientFacts): Summary {
  const r = week24Response(f, REF);
  const c = currentIguratimodCourse(f, REF);
  const atStart = c ? refractoryEligibility(f, new Date(c.start)) : undefined;
  return {
    week24: r?.code === "week24-discontinued-early" ? "discontinued-early" : r?.week24?.kang2020,
    relapse: r?.followUp?.status === "relapse",
    eligibleAtStart: atStart?.verdict,
  };
}

function allFindings(f: PatientFacts) {
  return {
    response: week24Response(f, REF),
    anemia: anemiaFinding(f, REF),
    liver: liverFinding(f, REF),
    monitoring: monitoringOverdue(f, REF),
    events: safetyAlertEvents(f, REF),
    eligibility: refractoryEligibility(f, REF),
  };
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const sequence = seeded(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = sequence.state() % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const bundles = studyPatientBundles(REF);
const patients = bundles.map((b) => {
  const rs = resourcesOf(b);
  return { id: patientId(rs), resources: rs, facts: normalisePatient(rs, REF) };
});

describe("the 14 study patients (kang2020 Table 1) under the stated rules", () => {
  it("has the 14 patients kang-01 … kang-14", () => {
    expect(patients.map((p) => p.id).sort()).toEqual(Object.keys(EXPECTED));
  });

  it.each(Object.entries(EXPECTED))(
    "%s: week 24, relapse and eligibility at iguratimod start",
    (id, expected) => {
      const p = patients.find((x) => x.id === id);
      expect(p).toBeDefined();
      if (!p) return;
      expect(summarise(p.facts)).toEqual(expected);
    },
  );

  it("reproduces the study totals: 5 CR, 6 PR + 1 discontinued early, 1 NR, 1 lost; 3 relapses after PR", () => {
    const s = patients.map((p) => summarise(p.facts));
    const count = (w: Week24) => s.filter((x) => x.week24 === w).length;
    expect([
      count("CR"),
      count("PR"),
      count("discontinued-early"),
      count("NR"),
      count("insufficient-data"),
    ]).toEqual([5, 6, 1, 1, 1]);
    expect(s.filter((x) => x.relapse && x.week24 === "PR")).toHaveLength(3);
  });

  it("patient 4: anaemia warning at week 7 (Hb 80) and critical at week 12 (Hb 32)", () => {
    const p = patients.find((x) => x.id === "kang-04");
    if (!p) throw new Error("kang-04 missing");
    const c = currentIguratimodCourse(p.facts, REF);
    if (!c) throw new Error("kang-04 has no iguratimod course");
    const events = safetyAlertEvents(p.facts, new Date(c.start + 100 * 86_400_000)).filter(
      (e) => e.rule === "anemia",
    );
    expect(events.map((e) => [e.severity, e.value.value])).toEqual([
      ["warning", 80],
      ["critical", 32],
    ]);
    const weeks = events.map((e) =>
      Math.round((Date.parse(e.effective) - c.start) / (7 * 86_400_000)),
    );
    expect(weeks).toEqual([7, 12]);
  });

  it("exactly one patient has a transient ALT rise: a liver alert that has resolved by the latest ALT", () => {
    const withLiver = patients.filter((p) => {
      const c = currentIguratimodCourse(p.facts, REF);
      if (!c) return false;
      const end = c.end ?? REF.getTime();
      return safetyAlertEvents(
        p.facts,
        new Date(Math.min(end + 30 * 86_400_000, REF.getTime())),
      ).some((e) => e.rule === "liver-injury");
    });
    expect(withLiver.map((p) => p.id)).toHaveLength(1);
    const p = withLiver[0];
    if (!p) return;
    const alts = p.facts.labs.filter((l) => l.kind === "alt");
    const peak = Math.max(...alts.map((l) => l.value));
    expect(alts.at(-1)?.value).toBeLessThan(peak);
  });

  it("shuffling the resources of every bundle gives identical findings", () => {
    for (const p of patients) {
      const expected = JSON.stringify(allFindings(p.facts));
      for (const seed of [1, 7, 42]) {
        const f = normalisePatient(shuffled(p.resources, seed), REF);
        expect(JSON.stringify(allFindings(f)), p.id).toBe(expected);
      }
    }
  });

  it("no study value is dropped for an unknown unit or status", () => {
    const dropped = patients.flatMap((p) =>
      p.facts.notes
        .filter((n) => n.reason === "unconvertible-unit" || n.reason === "missing-unit")
        .map((n) => `${p.id} ${n.ref ?? ""}`),
    );
    expect(dropped).toEqual([]);
  });
});

describe("after their iguratimod courses (docs/clinical-rules.md#5-eligibility)", () => {
  // Patients who stopped iguratimod are no longer candidates for a new start, whatever their
  // earlier agents say: the eligibility verdict names the course and how it ended.
  const AFTER: Readonly<Record<string, string>> = {
    "kang-01": "relapsed",
    "kang-04": "intolerance",
    "kang-07": "relapsed",
    "kang-08": "failed",
    "kang-09": "responded",
    "kang-12": "relapsed",
  };
  it.each(Object.entries(AFTER))("%s: not eligible, iguratimod already tried (%s)", (id, how) => {
    const p = patients.find((x) => x.id === id);
    if (!p) throw new Error(`${id} missing`);
    const e = refractoryEligibility(p.facts, REF);
    expect(e?.verdict).toBe("not-eligible");
    expect(e?.unmetCriteria).toContain("iguratimod-not-tried");
    expect(e?.summary).toMatch(
      new RegExp(
        `^Not eligible for a new start: iguratimod already tried \\(\\d{4}-\\d\\d-\\d\\d to \\d{4}-\\d\\d-\\d\\d: ${how}\\)$`,
      ),
    );
  });

  it("patient 4's intolerance is named from the coded stop reason and the grade-3 Hb of week 12", () => {
    const p = patients.find((x) => x.id === "kang-04");
    if (!p) throw new Error("kang-04 missing");
    const prev = refractoryEligibility(p.facts, REF)?.previousIguratimod;
    expect(prev).toHaveLength(1);
    expect(prev?.[0]).toMatchObject({
      intolerance: true,
      stopReason: "Severe anaemia; Treatment not tolerated",
      criticalValue: { kind: "hemoglobin", value: 32, grade: 3 },
    });
  });
});

describe("their response cards today, after their courses (docs/clinical-rules.md#6-response)", () => {
  // prettier-ignore
  const TODAY: Readonly<Record<string, readonly [code: string, indicator: string, kang2020: string]>> = {
    // Relapsed on iguratimod, then stopped for it: the relapse before the stop takes precedence.
    "kang-01": ["renal-relapse", "warning", "PR"],
    "kang-07": ["renal-relapse", "warning", "PR"],
    "kang-12": ["renal-relapse", "warning", "PR"],
    // Stopped on day 196 for absent response: the stop, with its week-24 NR (info).
    "kang-08": ["iguratimod-stopped", "info", "NR"],
    // Stopped at week 36 for extra-renal lupus activity (a flare): warning, never "maintained".
    "kang-09": ["iguratimod-stopped", "warning", "CR"],
  };

  it.each(Object.entries(TODAY))("%s", (id, [code, indicator, kang]) => {
    const p = patients.find((x) => x.id === id);
    if (!p) throw new Error(`${id} missing`);
    const r = week24Response(p.facts, REF);
    expect([r?.code, r?.indicator, r?.week24?.kang2020]).toEqual([code, indicator, kang]);
    expect(r?.stopped).toBeDefined();
    expect(r?.workUp ?? false).toBe(code === "renal-relapse" || kang === "NR");
  });
});
