import fc from "fast-check";
import type {
  FhirResource,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
} from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { lab, medicationRequest, medicationStatement } from "../../../fixtures/build.js";
import { allFixtureBundles, resourcesOf } from "../../../fixtures/index.js";
import { CANONICAL_UNIT, LAB_CODES } from "../../clinical/codes.js";
import {
  ELIGIBILITY_LAB_KINDS,
  eligibilityLabKinds,
  onIguratimod,
  refractoryEligibility,
} from "../../clinical/eligibility.js";
import { RESPONSE_LAB_KINDS, responseLabsFrom, week24Response } from "../../clinical/response.js";
import { defaultThresholds } from "../../clinical/thresholds.js";
import {
  anemiaFinding,
  liverFinding,
  monitoringOverdue,
  SAFETY_LAB_KINDS,
  safetyAlertEvents,
  safetyLabsFrom,
} from "../../clinical/safety.js";
import type { MedicationCourse, PatientFacts } from "../../clinical/facts.js";
import { normalisePatient } from "./index.js";

const NOW = new Date("2025-06-01T00:00:00Z");
let n = 0;
/** A result of patient p on 10 January 2025 (fixtures/build.ts), numbered o1, o2, … */
function obs(
  code: string,
  value: number | string | undefined,
  unit: string | undefined,
  extra: Partial<Observation> = {},
): Observation {
  n += 1;
  const at = "2025-01-10T08:00:00Z";
  return lab({ loinc: code, value, unit, at, patientId: "p", id: `o${n}` }, extra);
}
const patient: FhirResource = {
  resourceType: "Patient",
  id: "p",
  gender: "female",
  birthDate: "1990-05-02",
};
const facts = (rs: FhirResource[]) => normalisePatient([patient, ...rs], NOW);
const DAY = 86_400_000;

/** The same chart with every 24-h urine protein sent as a UPCR (2890-2, g/g) instead. */
function withUpcrFor24h(resources: readonly FhirResource[]): FhirResource[] {
  return resources.map((r) =>
    r.resourceType === "Observation" && r.code.coding?.[0]?.code === "2889-4"
      ? {
          ...r,
          code: { coding: [{ system: "http://loinc.org", code: "2890-2" }] },
          ...(r.valueQuantity
            ? { valueQuantity: { ...r.valueQuantity, unit: "g/g", code: "g/g" } }
            : {}),
        }
      : r,
  );
}

/** Each fixture patient's chart, with its id and its iguratimod courses (as of NOW). */
function fixtureCharts(): {
  own: FhirResource[];
  patientId: string;
  courses: MedicationCourse[];
}[] {
  return allFixtureBundles(NOW).map((bundle) => {
    const own = resourcesOf(bundle);
    return {
      own,
      patientId: own.find((r) => r.resourceType === "Patient")?.id ?? "",
      courses: normalisePatient(own, NOW).courses.filter((c) => c.agent === "iguratimod"),
    };
  });
}

/** An instant as FHIR writes it. */
const isoAt = (time: number): string => new Date(time).toISOString();

/** The references of the Observations dated before `from`. */
function observationsBefore(resources: readonly FhirResource[], from: number): Set<string> {
  return new Set(
    resources
      .filter(
        (r) => r.resourceType === "Observation" && Date.parse(r.effectiveDateTime ?? "") < from,
      )
      .map((r) => `Observation/${r.id ?? ""}`),
  );
}

describe("normalisePatient: labs", () => {
  it("reads every LOINC code of the rules page", () => {
    for (const [code, lab] of LAB_CODES) {
      const unit =
        code === "34366-5" || code === "40486-3"
          ? "mg/mmol"
          : code === "59260-0"
            ? "mmol/L"
            : CANONICAL_UNIT[lab.kind];
      // A plausible value of each kind (docs/clinical-rules.md#1-facts bounds: Hb 1 g/L is no real result).
      const value = { hemoglobin: unit === "mmol/L" ? 6 : 100, creatinine: 80, albumin: 40 }[
        lab.kind as string
      ];
      const f = facts([obs(code, value ?? 1, unit)]);
      expect(f.labs, code).toHaveLength(1);
      expect(f.labs[0]?.kind, code).toBe(lab.kind);
    }
  });

  it.each([
    ["2889-4", 1500, "mg/(24.h)", 1.5],
    ["2889-4", 1500, "mg/d", 1.5],
    ["2889-4", 1.5, "g/d", 1.5],
    ["2889-4", 1.5, "g/(24.h)", 1.5],
    ["26801-1", 750, "mg/(12.h)", 1.5],
    ["26801-1", 0.75, "g", 1.5],
    ["2890-2", 1500, "mg/g", 1.5],
    ["34366-5", 169.68, "mg/mmol", 1.5],
    ["2160-0", 1, "mg/dL", 88.4017],
    ["14682-9", 88.4017, "umol/L", 88.4017],
    ["1751-7", 3.5, "g/dL", 35],
    ["1751-7", 35, "g/L", 35],
    ["718-7", 8, "g/dL", 80],
    ["59260-0", 4.9645, "mmol/L", 80],
  ])("%s %s %s converts to %s canonical", (code, value, unit, expected) => {
    const f = facts([obs(code, value, unit)]);
    expect(f.labs[0]?.value).toBeCloseTo(expected, 3);
  });

  it("ignores and notes an unknown unit, a missing unit, and never guesses", () => {
    const f = facts([obs("718-7", 8, "furlongs"), obs("718-7", 8, undefined)]);
    expect(f.labs).toHaveLength(0);
    expect(f.notes.map((x) => x.reason).sort()).toEqual(["missing-unit", "unconvertible-unit"]);
  });

  it("never reads 16285-9 (the inverse ratio) and notes it", () => {
    const f = facts([obs("16285-9", 2, "g/g")]);
    expect(f.labs).toHaveLength(0);
    expect(f.notes[0]?.reason).toBe("inverse-ratio-code");
  });

  it("uses only final/amended/corrected results", () => {
    const f = facts([
      obs("718-7", 100, "g/L", { status: "preliminary" }),
      obs("718-7", 100, "g/L", { status: "entered-in-error" }),
      obs("718-7", 101, "g/L", { status: "amended" }),
      obs("718-7", 102, "g/L", { status: "corrected" }),
    ]);
    expect(f.labs.map((l) => l.value)).toEqual([101, 102]);
    expect(f.notes.filter((x) => x.reason === "status-not-final")).toHaveLength(2);
  });

  it("ignores absurd values and dates", () => {
    const f = facts([
      obs("718-7", -1, "g/L"),
      obs("718-7", 1e12, "g/L"),
      obs("718-7", 100, "g/L", { effectiveDateTime: "1850-01-01" }),
      obs("718-7", 100, "g/L", { effectiveDateTime: "2025-06-03T00:00:00Z" }),
      obs("718-7", "12", "g/L"),
    ]);
    expect(f.labs).toHaveLength(0);
    expect(f.notes).toHaveLength(5);
  });

  it("with labKinds, leaves labs of other kinds unread, notes included, and reads pregnancy", () => {
    const all = [
      obs("718-7", 100, "g/L"),
      obs("718-7", -1, "g/L"),
      obs("1742-6", 30, "U/L", { status: "preliminary" }),
      obs("2160-0", 80, "umol/L"),
      obs("2160-0", 80, "furlongs"),
      obs("82810-3", undefined, undefined, { valueBoolean: false }),
    ];
    const full = facts(all);
    const some = normalisePatient([patient, ...all], NOW, {
      labKinds: new Set(["creatinine"] as const),
    });
    expect(some.labs).toEqual(full.labs.filter((l) => l.kind === "creatinine"));
    expect(some.labs).toHaveLength(1);
    expect(some.notes).toEqual(full.notes.filter((x) => x.kind === "creatinine"));
    expect(some.notes.map((x) => x.reason)).toEqual(["unconvertible-unit"]);
    expect(full.notes.length).toBeGreaterThan(some.notes.length);
    expect(some.pregnancy).toEqual(full.pregnancy);
    expect(some.pregnancy).toHaveLength(1);
  });

  it("with the response rules' kinds, every fixture patient's response finding is the same", () => {
    const kinds = new Set(RESPONSE_LAB_KINDS);
    let findings = 0;
    for (const bundle of allFixtureBundles(NOW)) {
      // An implausible hemoglobin and a preliminary ALT too: notes of kinds the rules do not read.
      const patientId = resourcesOf(bundle).find((r) => r.resourceType === "Patient")?.id ?? "";
      const extra = [
        lab({ loinc: "718-7", value: 0.5, unit: "g/L", at: "2025-01-10T08:00:00Z", patientId }),
        lab(
          { loinc: "1742-6", value: 40, unit: "U/L", at: "2025-01-10T08:00:00Z", patientId },
          { status: "preliminary" },
        ),
      ];
      const resources = [...resourcesOf(bundle), ...extra];
      const full = week24Response(normalisePatient(resources, NOW), NOW);
      const read = week24Response(normalisePatient(resources, NOW, { labKinds: kinds }), NOW);
      expect(read).toEqual(full);
      if (full !== undefined) findings += 1;
    }
    // The fixtures hold iguratimod courses, so the comparison covers real findings.
    expect(findings).toBeGreaterThan(5);
  });

  it("with the response rules' labsFrom, every fixture patient's response finding is the same", () => {
    const kinds = new Set(RESPONSE_LAB_KINDS);
    const codes = new Set<string>();
    let findings = 0;
    let skipped = 0;
    for (const { own, patientId, courses } of fixtureCharts()) {
      // Before each course's baseline window: an unreadable unit, a preliminary result and a
      // creatinine spike (none may change a finding); on the window's first day, a creatinine.
      const edges = courses.flatMap((c) => [
        lab({
          loinc: "2160-0",
          value: 80,
          unit: "furlongs",
          at: isoAt(c.start - 45 * DAY),
          patientId,
        }),
        lab(
          { loinc: "1751-7", value: 20, unit: "g/L", at: isoAt(c.start - 40 * DAY), patientId },
          { status: "preliminary" },
        ),
        lab({
          loinc: "2160-0",
          value: 900,
          unit: "umol/L",
          at: isoAt(c.start - 31 * DAY),
          patientId,
        }),
        lab({
          loinc: "2160-0",
          value: 70,
          unit: "umol/L",
          at: isoAt(c.start - 30 * DAY),
          patientId,
        }),
      ]);
      const asUpcr = withUpcrFor24h(own);
      // Before, inside and after each course's assessment window, and after each stop.
      const moments = [
        NOW,
        ...courses.flatMap((c) => [
          ...[-1, 10, 150, 170, 200, 400].map((d) => new Date(c.start + d * DAY)),
          ...(c.end !== undefined ? [new Date(c.end + 10 * DAY)] : []),
        ]),
      ].filter((m) => m.getTime() <= NOW.getTime());
      for (const resources of [
        [...own, ...edges],
        [...asUpcr, ...edges],
      ]) {
        for (const now of moments) {
          const from = responseLabsFrom(normalisePatient(resources, now).courses, now);
          const full = week24Response(normalisePatient(resources, now, { labKinds: kinds }), now);
          const read = normalisePatient(resources, now, {
            labKinds: kinds,
            labsFrom: (cs) => responseLabsFrom(cs, now),
          });
          // Labs before the baseline window are left unread, their notes with them.
          const older = observationsBefore(resources, from);
          expect(read.labs.some((l) => l.time < from)).toBe(false);
          const expected =
            full === undefined
              ? undefined
              : { ...full, notes: full.notes.filter((x) => !older.has(x.ref ?? "")) };
          expect(week24Response(read, now)).toEqual(expected);
          if (full === undefined) continue;
          findings += 1;
          skipped += older.size;
          codes.add(full.code);
        }
      }
    }
    // Real findings of many kinds were compared, with old labs left out of them.
    expect(findings).toBeGreaterThan(40);
    expect(skipped).toBeGreaterThan(100);
    expect(codes.size).toBeGreaterThan(4);
  });

  it("labsFrom reaches back over the companion window when it is the longer one", () => {
    const day0 = Date.parse("2025-01-01T00:00:00Z");
    const at = (d: number) => new Date(day0 + d * DAY).toISOString();
    const resources: FhirResource[] = [
      patient,
      // Stopped on day 60: judged on its last proteinuria on drug, with companions around it.
      medicationStatement({ id: "igu", patientId: "p", start: at(0), end: at(60) }),
      lab({ loinc: "2889-4", value: 3, unit: "g/(24.h)", at: at(-2), patientId: "p" }),
      lab({ loinc: "2889-4", value: 1, unit: "g/(24.h)", at: at(2), patientId: "p" }),
      lab({ loinc: "2160-0", value: 80, unit: "umol/L", at: at(-50), patientId: "p" }),
    ];
    const now = new Date(day0 + 100 * DAY);
    const t = {
      ...defaultThresholds,
      companionLabWindowDays: { ...defaultThresholds.companionLabWindowDays, value: 60 },
    };
    const options = { thresholds: t, labKinds: new Set(RESPONSE_LAB_KINDS) };
    const full = week24Response(normalisePatient(resources, now, options), now, t);
    const read = week24Response(
      normalisePatient(resources, now, {
        ...options,
        labsFrom: (cs) => responseLabsFrom(cs, now, t),
      }),
      now,
      t,
    );
    expect(full?.code).toBe("week24-discontinued-early");
    // The creatinine 50 days before day 0 is a companion of the day-2 proteinuria.
    expect(full?.decidingValues.map((d) => d.label)).toContain("creatinine");
    expect(read).toEqual(full);
    expect(responseLabsFrom(normalisePatient(resources, now).courses, now, t)).toBe(
      day0 - 60 * DAY,
    );
    // With no iguratimod course there is no finding, and no lab is read.
    const none = normalisePatient(resources.slice(0, 1).concat(resources.slice(2)), now, {
      ...options,
      labsFrom: (cs) => responseLabsFrom(cs, now, t),
    });
    expect(none.labs).toEqual([]);
  });

  it("labsFrom reads a baseline on the first day of the baseline window, and nothing before", () => {
    const day0 = Date.parse("2025-01-01T00:00:00Z");
    const at = (d: number) => new Date(day0 + d * DAY).toISOString();
    const base = [
      patient,
      medicationStatement({ id: "igu", patientId: "p", start: at(0) }),
      // The baseline: only on day −30, the first day of the window.
      lab({ loinc: "2889-4", value: 3, unit: "g/(24.h)", at: at(-30), patientId: "p" }),
      lab({ loinc: "2160-0", value: 80, unit: "umol/L", at: at(-30), patientId: "p" }),
      // A millisecond before the window: no rule may read it.
      lab({ loinc: "2889-4", value: 9, unit: "g/(24.h)", at: at(-30 - 1 / DAY), patientId: "p" }),
      lab({ loinc: "2889-4", value: 1, unit: "g/(24.h)", at: at(168), patientId: "p" }),
      lab({ loinc: "2160-0", value: 82, unit: "umol/L", at: at(168), patientId: "p" }),
      lab({ loinc: "1751-7", value: 38, unit: "g/L", at: at(168), patientId: "p" }),
    ];
    const now = new Date(day0 + 180 * DAY);
    const kinds = new Set(RESPONSE_LAB_KINDS);
    const full = week24Response(normalisePatient(base, now, { labKinds: kinds }), now);
    const facts = normalisePatient(base, now, {
      labKinds: kinds,
      labsFrom: (cs) => responseLabsFrom(cs, now),
    });
    expect(facts.labs.map((l) => l.time)).not.toContain(day0 - 30 * DAY - 1);
    expect(facts.labs.map((l) => l.time)).toContain(day0 - 30 * DAY);
    const read = week24Response(facts, now);
    expect(read).toEqual(full);
    const baseline = read?.decidingValues.filter((d) => d.label.startsWith("baseline "));
    expect(baseline?.map((d) => [d.label, d.time])).toEqual([
      ["baseline proteinuria", at(-30)],
      ["baseline creatinine", at(-30)],
      ["baseline eGFR (CKD-EPI 2021)", at(-30)],
    ]);
  });

  it("with labsFrom, medication notes still follow the lab notes", () => {
    const all: FhirResource[] = [
      obs("2160-0", 80, "furlongs"),
      medicationStatement({ id: "future", patientId: "p", start: "2999-01-01" }),
      medicationStatement({ id: "igu", patientId: "p", start: "2024-12-01" }),
      obs("1751-7", 30, undefined),
    ];
    const full = facts(all);
    const read = normalisePatient([patient, ...all], NOW, { labsFrom: () => 0 });
    expect(read.notes).toEqual(full.notes);
    expect(full.notes.map((x) => x.reason)).toEqual([
      "unconvertible-unit",
      "missing-unit",
      "absurd-date",
    ]);
  });

  it("with the eligibility rules' kinds, every fixture patient's eligibility finding is the same", () => {
    const kinds = new Set(ELIGIBILITY_LAB_KINDS);
    const verdicts = new Map<string, number>();
    /** How often each lab kind decided something in the findings compared. */
    const deciding = new Map<string, number>();
    let unreadOnDrug = 0;
    let withPrevious = 0;
    let proteinuriaOnly = 0;
    const proteinuriaKinds = new Set(["protein24h", "upcr"]);
    for (const { own, patientId, courses } of fixtureCharts()) {
      // Notes of kinds the rules do not read: an implausible creatinine, a preliminary albumin.
      const noise = [
        lab({
          loinc: "2160-0",
          value: 1e6,
          unit: "umol/L",
          at: isoAt(NOW.getTime() - DAY),
          patientId,
        }),
        lab(
          { loinc: "1751-7", value: 30, unit: "g/L", at: isoAt(NOW.getTime() - DAY), patientId },
          { status: "preliminary" },
        ),
      ];
      // Grade-3 anaemia and liver values during each iguratimod course (an earlier intolerance).
      const toxic = courses.flatMap((c) => [
        lab({ loinc: "718-7", value: 65, unit: "g/L", at: isoAt(c.start + 20 * DAY), patientId }),
        lab({ loinc: "1742-6", value: 900, unit: "U/L", at: isoAt(c.start + 21 * DAY), patientId }),
      ]);
      // The same chart with every 24-h protein sent as a UPCR instead.
      const asUpcr = withUpcrFor24h(own);
      // Judged now, the day before each iguratimod course began, and 40 days after each ended.
      const moments = [
        NOW,
        ...courses.flatMap((c) => [
          new Date(c.start - DAY),
          ...(c.end !== undefined ? [new Date(c.end + 40 * DAY)] : []),
        ]),
      ];
      for (const resources of [
        [...own, ...noise],
        [...own, ...noise, ...toxic],
        [...asUpcr, ...noise],
      ]) {
        const full = normalisePatient(resources, NOW);
        const read = normalisePatient(resources, NOW, { labKinds: kinds });
        for (const when of moments) {
          const expected = refractoryEligibility(full, when);
          expect(refractoryEligibility(read, when)).toEqual(expected);
          // On iguratimod, no lab at all is read, and the finding is still the same.
          // With hemoglobin and ALT only when an earlier iguratimod course is judged.
          const limited = normalisePatient(resources, NOW, {
            labKinds: (cs) => new Set(eligibilityLabKinds(cs, when)),
          });
          expect(refractoryEligibility(limited, when)).toEqual(expected);
          if (onIguratimod(full, when)) {
            expect(limited.labs).toEqual([]);
            unreadOnDrug += 1;
          } else if (eligibilityLabKinds(full.courses, when).includes("hemoglobin")) {
            expect(limited.labs).toEqual(read.labs);
            withPrevious += 1;
          } else {
            expect(limited.labs).toEqual(read.labs.filter((l) => proteinuriaKinds.has(l.kind)));
            proteinuriaOnly += 1;
          }
          if (expected === undefined) continue;
          verdicts.set(expected.verdict, (verdicts.get(expected.verdict) ?? 0) + 1);
          const values = [
            ...expected.decidingValues,
            ...expected.previousIguratimod.flatMap((p) => p.criticalValue ?? []),
          ];
          for (const v of values) deciding.set(v.kind, (deciding.get(v.kind) ?? 0) + 1);
        }
      }
    }
    // The comparison covers real verdicts, and each kind of lab the rules read decided some.
    expect(verdicts.get("eligible") ?? 0).toBeGreaterThan(5);
    expect(verdicts.get("not-eligible") ?? 0).toBeGreaterThan(0);
    for (const kind of ELIGIBILITY_LAB_KINDS) expect(deciding.get(kind) ?? 0).toBeGreaterThan(0);
    expect(unreadOnDrug).toBeGreaterThan(5);
    expect(withPrevious).toBeGreaterThan(5);
    expect(proteinuriaOnly).toBeGreaterThan(5);
  });

  /** Everything the safety rules say about a patient. */
  const safetyOf = (f: PatientFacts, now: Date) => ({
    anemia: anemiaFinding(f, now),
    liver: liverFinding(f, now),
    monitoring: monitoringOverdue(f, now),
    alerts: safetyAlertEvents(f, now),
  });
  const safetyKinds = { labKinds: new Set(SAFETY_LAB_KINDS), latestOfOtherKinds: true } as const;

  it("with the safety rules' kinds and the latest of the others, every fixture patient's safety findings are the same", () => {
    let monitoring = 0;
    let findings = 0;
    for (const bundle of allFixtureBundles(NOW)) {
      const patientId = resourcesOf(bundle).find((r) => r.resourceType === "Patient")?.id ?? "";
      const at = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
      // Other kinds' results the "latest result" must not count: preliminary, an unknown unit,
      // implausible, after now (still within the day normalisation accepts); and one it must.
      const extra = [
        lab(
          { loinc: "2160-0", value: 80, unit: "umol/L", at: at(2), patientId },
          { status: "preliminary" },
        ),
        lab({ loinc: "2160-0", value: 80, unit: "furlongs", at: at(3), patientId }),
        lab({ loinc: "2160-0", value: 1e6, unit: "umol/L", at: at(4), patientId }),
        lab({ loinc: "2160-0", value: 80, unit: "umol/L", at: at(-0.4), patientId }),
        lab({ loinc: "718-7", value: 0.5, unit: "g/L", at: at(5), patientId }),
      ];
      for (const resources of [
        [...resourcesOf(bundle), ...extra],
        [
          ...resourcesOf(bundle),
          ...extra,
          lab({ loinc: "1751-7", value: 40, unit: "g/L", at: at(100), patientId }),
        ],
      ]) {
        const full = safetyOf(normalisePatient(resources, NOW), NOW);
        const read = safetyOf(normalisePatient(resources, NOW, safetyKinds), NOW);
        expect(read).toEqual(full);
        if (full.monitoring !== undefined) monitoring += 1;
        findings += Object.values(full).filter(
          (v) => v !== undefined && !(Array.isArray(v) && v.length === 0),
        ).length;
      }
    }
    // The fixtures hold iguratimod courses with findings, monitoring ones among them.
    expect(monitoring).toBeGreaterThan(0);
    expect(findings).toBeGreaterThan(5);
  });

  it("with the safety rules' labsFrom, every fixture patient's safety findings are the same", () => {
    let compared = 0;
    let skipped = 0;
    let graded = 0;
    for (const { own, patientId, courses } of fixtureCharts()) {
      // Before each course's baseline window: a grade-3 hemoglobin, a grade-4 ALT and an ALT
      // with no unit (none may count); on the window's first day, a baseline hemoglobin.
      const edges = courses.flatMap((c) => [
        lab({ loinc: "718-7", value: 60, unit: "g/L", at: isoAt(c.start - 61 * DAY), patientId }),
        lab({
          loinc: "1742-6",
          value: 2000,
          unit: "U/L",
          at: isoAt(c.start - 70 * DAY),
          patientId,
        }),
        lab({
          loinc: "1742-6",
          value: 30,
          unit: undefined,
          at: isoAt(c.start - 80 * DAY),
          patientId,
        }),
        lab({ loinc: "718-7", value: 150, unit: "g/L", at: isoAt(c.start - 60 * DAY), patientId }),
      ]);
      const moments = [
        NOW,
        ...courses.flatMap((c) => [
          ...[-1, 10, 40, 100, 200].map((d) => new Date(c.start + d * DAY)),
          ...[10, 40].flatMap((d) => (c.end !== undefined ? [new Date(c.end + d * DAY)] : [])),
        ]),
      ].filter((m) => m.getTime() <= NOW.getTime());
      for (const resources of [own, [...own, ...edges]]) {
        for (const now of moments) {
          const from = safetyLabsFrom(normalisePatient(resources, now).courses, now);
          const full = safetyOf(normalisePatient(resources, now, safetyKinds), now);
          const facts = normalisePatient(resources, now, {
            ...safetyKinds,
            labsFrom: (cs) => safetyLabsFrom(cs, now),
          });
          // Older hemoglobin and ALT are not graded; at most the latest result is kept.
          const older = observationsBefore(resources, from);
          expect(facts.labs.filter((l) => l.time < from).length).toBeLessThanOrEqual(1);
          const withoutOlder = <T extends { notes: readonly { ref?: string }[] } | undefined>(
            f: T,
          ): T =>
            f === undefined ? f : { ...f, notes: f.notes.filter((x) => !older.has(x.ref ?? "")) };
          expect(safetyOf(facts, now)).toEqual({
            anemia: withoutOlder(full.anemia),
            liver: withoutOlder(full.liver),
            monitoring: withoutOlder(full.monitoring),
            alerts: full.alerts,
          });
          compared += 1;
          skipped += older.size;
          graded += full.alerts.length + (full.anemia ? 1 : 0) + (full.liver ? 1 : 0);
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
    expect(skipped).toBeGreaterThan(100);
    expect(graded).toBeGreaterThan(10);
  });

  it("with safety's labsFrom, an older result still says when a result last came", () => {
    const day0 = Date.parse("2025-01-01T00:00:00Z");
    const at = (d: number) => new Date(day0 + d * DAY).toISOString();
    const resources: FhirResource[] = [
      patient,
      medicationStatement({ id: "ig", patientId: "p", start: at(0) }),
      // The last result of all: a hemoglobin before the baseline window (day −60).
      lab({ loinc: "718-7", value: 120, unit: "g/L", at: at(-90), patientId: "p" }),
      lab({ loinc: "2160-0", value: 80, unit: "umol/L", at: at(-100), patientId: "p" }),
    ];
    const now = new Date(day0 + 120 * DAY);
    const from = safetyLabsFrom(normalisePatient(resources, now).courses, now);
    expect(from).toBe(day0 - 60 * DAY);
    const full = safetyOf(normalisePatient(resources, now, safetyKinds), now);
    const read = safetyOf(
      normalisePatient(resources, now, { ...safetyKinds, labsFrom: () => from }),
      now,
    );
    expect(full.monitoring?.noResultsDays).toBe(210);
    expect(read).toEqual(full);
    // A baseline on the window's first day is read: the fall is measured from it.
    const withBaseline = [
      ...resources,
      lab({ loinc: "718-7", value: 150, unit: "g/L", at: at(-60), patientId: "p" }),
      lab({ loinc: "718-7", value: 95, unit: "g/L", at: at(100), patientId: "p" }),
    ];
    const anemia = anemiaFinding(normalisePatient(withBaseline, now, safetyKinds), now);
    expect(anemia?.summary).toContain("fall 55 g/L from baseline 150");
    expect(
      anemiaFinding(
        normalisePatient(withBaseline, now, {
          ...safetyKinds,
          labsFrom: (cs) => safetyLabsFrom(cs, now),
        }),
        now,
      ),
    ).toEqual(anemia);
    // Off iguratimod nothing is graded; only the latest result is kept.
    const off = normalisePatient(
      resources.filter((r) => r.id !== "ig"),
      now,
      {
        ...safetyKinds,
        labsFrom: (cs) => safetyLabsFrom(cs, now),
      },
    );
    expect(safetyLabsFrom(off.courses, now)).toBe(Infinity);
    expect(off.labs.map((l) => l.kind)).toEqual(["hemoglobin"]);
  });

  it("with latestOfOtherKinds, the latest usable lab of another kind still says a result came", () => {
    const now = NOW;
    const resources: FhirResource[] = [
      patient,
      medicationStatement({ id: "ig", patientId: "p", start: "2024-06-01" }),
      lab({ loinc: "718-7", value: 120, unit: "g/L", at: "2025-01-20T08:00:00Z", patientId: "p" }),
      lab({ loinc: "1742-6", value: 20, unit: "U/L", at: "2025-01-20T08:00:00Z", patientId: "p" }),
      // Creatinine 10 days ago: hemoglobin and ALT are overdue, yet the patient is still seen.
      lab({
        loinc: "2160-0",
        value: 80,
        unit: "umol/L",
        at: "2025-05-22T08:00:00Z",
        patientId: "p",
      }),
      lab({
        loinc: "2160-0",
        value: 70,
        unit: "umol/L",
        at: "2025-04-22T08:00:00Z",
        patientId: "p",
      }),
    ];
    const full = monitoringOverdue(normalisePatient(resources, now), now);
    const read = normalisePatient(resources, now, safetyKinds);
    expect(full?.noResultsDays).toBeUndefined();
    expect(monitoringOverdue(read, now)).toEqual(full);
    // Only the latest of the other kinds is read.
    expect(read.labs.map((l) => l.kind)).toEqual(["hemoglobin", "alt", "creatinine"]);
    expect(read.labs.at(-1)?.value).toBe(80);
    // Without it, the last hemoglobin would look like the patient's last result.
    const onlyTwo = normalisePatient(resources, now, { labKinds: new Set(SAFETY_LAB_KINDS) });
    expect(monitoringOverdue(onlyTwo, now)?.noResultsDays).toBeGreaterThan(90);
  });

  it("takes time from effectivePeriod.start, else issued", () => {
    const a = obs("718-7", 100, "g/L", {
      effectiveDateTime: undefined,
      effectivePeriod: { start: "2025-02-01T00:00:00Z" },
    });
    const b = obs("718-7", 100, "g/L", {
      effectiveDateTime: undefined,
      issued: "2025-03-01T00:00:00Z",
    });
    const f = facts([a, b]);
    expect(f.labs.map((l) => new Date(l.time).toISOString())).toEqual([
      "2025-02-01T00:00:00.000Z",
      "2025-03-01T00:00:00.000Z",
    ]);
  });

  it("converts the reference range and keeps the source reference", () => {
    const f = facts([
      obs("718-7", 11, "g/dL", {
        referenceRange: [{ low: { value: 12, unit: "g/dL", code: "g/dL" } }],
      }),
    ]);
    expect(f.labs[0]).toMatchObject({
      value: 110,
      referenceRange: { low: 120 },
      ref: expect.stringMatching(/^Observation\/o\d+$/),
    });
  });

  it("counts a re-sent, corrected Observation once, using the latest version", () => {
    const v1 = obs("718-7", 80, "g/L", { id: "same", meta: { versionId: "1" } });
    const v2 = obs("718-7", 85, "g/L", {
      id: "same",
      status: "corrected",
      meta: { versionId: "2" },
    });
    expect(facts([v2, v1]).labs.map((l) => l.value)).toEqual([85]);
    expect(facts([v1, v2]).labs.map((l) => l.value)).toEqual([85]);
  });

  it("property: shuffling the resources never changes the facts", () => {
    const rs: FhirResource[] = [
      obs("2889-4", 3, "g/(24.h)", { effectiveDateTime: "2025-01-01" }),
      obs("2889-4", 2, "g/(24.h)", { effectiveDateTime: "2025-01-01" }),
      obs("718-7", 120, "g/L"),
      obs("1742-6", 30, "U/L"),
      med("MedicationStatement", "ms1", "tacrolimus", "2024-01-01", "2024-03-01"),
      med("MedicationStatement", "ms2", "tacrolimus", "2024-03-20", "2024-06-01"),
    ];
    const ref = JSON.stringify(facts(rs));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }),
        (shuffled) => {
          expect(JSON.stringify(facts(shuffled))).toBe(ref);
        },
      ),
    );
  });
});

/** A statement or a recorded order of patient p, coded by name (fixtures/build.ts). */
function med(
  type: "MedicationStatement" | "MedicationRequest",
  id: string,
  name: string,
  start: string,
  end?: string,
  extra: Record<string, unknown> = {},
): MedicationStatement | MedicationRequest {
  const spec = { id, patientId: "p", medication: name, start, ...(end ? { end } : {}) };
  return type === "MedicationStatement"
    ? medicationStatement(spec, extra as Partial<MedicationStatement>)
    : medicationRequest(spec, extra as Partial<MedicationRequest>);
}

describe("normalisePatient: medications and courses", () => {
  it("merges statements 30 days apart into one course, 31 days apart into two", () => {
    const f30 = facts([
      med("MedicationStatement", "a", "tacrolimus", "2024-01-01", "2024-03-01"),
      med("MedicationStatement", "b", "tacrolimus", "2024-03-31", "2024-06-01"),
    ]);
    const f31 = facts([
      med("MedicationStatement", "a", "tacrolimus", "2024-01-01", "2024-03-01"),
      med("MedicationStatement", "b", "tacrolimus", "2024-04-01", "2024-06-01"),
    ]);
    expect(f30.courses).toHaveLength(1);
    expect(f30.courses[0]?.refs).toEqual(["MedicationStatement/a", "MedicationStatement/b"]);
    expect(f31.courses).toHaveLength(2);
  });

  it("reads MedicationRequest too, and ignores not-taken / entered-in-error / intended", () => {
    const f = facts([
      med("MedicationRequest", "r", "azathioprine", "2024-01-01", "2024-08-01"),
      med("MedicationStatement", "x", "rituximab", "2024-01-01", undefined, {
        status: "not-taken",
      }),
      med("MedicationStatement", "y", "rituximab", "2024-01-01", undefined, {
        status: "entered-in-error",
      }),
      med("MedicationStatement", "z", "rituximab", "2024-01-01", undefined, { status: "intended" }),
    ]);
    expect(f.courses.map((c) => c.agent)).toEqual(["azathioprine"]);
  });

  it("reads statusReason always, but reasonCode (the indication) only on a stopped course", () => {
    const flare = { reasonCode: [{ text: "Lupus nephritis flare" }] };
    const reasonsOf = (status: string, type: "MedicationStatement" | "MedicationRequest") =>
      facts([med(type, "c", "rituximab", "2024-01-01", "2024-08-01", { status, ...flare })])
        .courses[0]?.reasons;
    for (const type of ["MedicationStatement", "MedicationRequest"] as const) {
      expect(reasonsOf("active", type)).toEqual([]);
      expect(reasonsOf("completed", type)).toEqual([]);
      expect(reasonsOf("stopped", type)).toEqual([{ codes: [], text: "Lupus nephritis flare" }]);
    }
    const withStatusReason = facts([
      med("MedicationStatement", "s", "rituximab", "2024-01-01", "2024-08-01", {
        statusReason: [
          { coding: [{ system: "http://snomed.info/sct", code: "266721009" }], text: "no effect" },
        ],
      }),
    ]);
    expect(withStatusReason.courses[0]?.reasons).toEqual([
      { codes: ["266721009"], text: "no effect" },
    ]);
  });

  it("keeps a stop reason's text and its coding display apart, and says a repeated one once", () => {
    const stoppedWith = (text: string, display: string) =>
      facts([
        med("MedicationStatement", "s", "iguratimod", "2024-01-01", "2024-08-01", {
          status: "stopped",
          statusReason: [
            { coding: [{ system: "http://snomed.info/sct", code: "266721009", display }], text },
          ],
        }),
      ]).courses[0]?.reasons;
    expect(stoppedWith("No renal response at week 24", "Absent response to treatment")).toEqual([
      { codes: ["266721009"], text: "No renal response at week 24; Absent response to treatment" },
    ]);
    expect(stoppedWith("Absent response to treatment", "Absent response to treatment")).toEqual([
      { codes: ["266721009"], text: "Absent response to treatment" },
    ]);
  });

  it("counts a MedicationRequest read twice (active, then updated to stopped) once, as stopped", () => {
    // The safety monitor reads every page of a search; an order stopped between two page reads
    // comes back in both versions. The latest version decides, as for a corrected Observation.
    const active = med("MedicationRequest", "igu", "iguratimod", "2025-06-01", undefined, {
      meta: { lastUpdated: "2025-06-01T09:00:00Z" },
    });
    const stopped = med("MedicationRequest", "igu", "iguratimod", "2025-06-01", undefined, {
      status: "stopped",
      meta: { lastUpdated: "2025-09-01T09:00:00Z" },
    });
    for (const order of [
      [active, stopped],
      [stopped, active],
    ]) {
      const courses = facts(order).courses;
      expect(courses).toHaveLength(1);
      expect(courses[0]).toMatchObject({
        agent: "iguratimod",
        status: "stopped",
        refs: ["MedicationRequest/igu"],
      });
      expect(courses[0]?.end).toBeDefined();
    }
  });

  it("recognises agents by RxNorm, legacy ATC, product display and CJK synonym; MMF and MPA are one agent", () => {
    const by = (concept: object): string | undefined =>
      facts([
        {
          ...med("MedicationStatement", "m", "", "2024-01-01"),
          medicationCodeableConcept: concept,
        } as MedicationStatement,
      ]).courses[0]?.agent;
    expect(
      by({ coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "42316" }] }),
    ).toBe("tacrolimus");
    expect(by({ coding: [{ system: "http://www.whocc.no/atc", code: "L04AA05" }] })).toBe(
      "tacrolimus",
    );
    expect(
      by({
        coding: [
          {
            system: "http://www.nlm.nih.gov/research/umls/rxnorm",
            code: "999",
            display: "mycophenolate mofetil 500 MG Oral Tablet",
          },
        ],
      }),
    ).toBe("mycophenolate");
    expect(
      by({ coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "7145" }] }),
    ).toBe("mycophenolate");
    expect(by({ text: "艾拉莫德片" })).toBe("iguratimod");
    expect(by({ text: "イグラチモド" })).toBe("iguratimod");
    expect(by({ coding: [{ system: "urn:local", code: "T-614" }] })).toBe("iguratimod");
    expect(by({ text: "雷公藤多苷" })).toBe("tripterygium");
    expect(
      by({
        coding: [
          {
            system: "http://www.nlm.nih.gov/research/umls/rxnorm",
            code: "8640",
            display: "prednisone",
          },
        ],
      }),
    ).toBeUndefined();
    expect(by({ text: "hydroxychloroquine" })).toBeUndefined();
  });

  it("resolves medicationReference to a contained or supplied Medication", () => {
    const m1: Medication = {
      resourceType: "Medication",
      id: "m1",
      code: { text: "Warfarin 5 mg" },
    };
    const contained = medicationStatement(
      { id: "c", patientId: "p", medicationReference: "#m1", start: "2024-01-01" },
      { contained: [m1] },
    );
    const supplied = medicationStatement({
      id: "s",
      patientId: "p",
      medicationReference: "Medication/m2",
      start: "2024-01-01",
    });
    const f = facts([
      contained,
      supplied,
      { resourceType: "Medication", id: "m2", code: { text: "Iguratimod 25 mg" } },
    ]);
    expect(f.courses.map((c) => c.agent).sort()).toEqual(["iguratimod", "warfarin"]);
  });

  it("reads the LN diagnosis, sex, age and pregnancy", () => {
    const f = facts([
      {
        resourceType: "Condition",
        id: "ln",
        subject: { reference: "Patient/p" },
        code: {
          coding: [
            {
              system: "http://hl7.org/fhir/sid/icd-10-cm",
              code: "M32.14",
              display: "Glomerular disease in SLE",
            },
          ],
          text: "Lupus nephritis class III + V",
        },
      },
      obs("82810-3", undefined, undefined, {
        valueCodeableConcept: { coding: [{ system: "http://snomed.info/sct", code: "77386006" }] },
      }),
    ]);
    expect(f.lnDiagnosis).toMatchObject({ ref: "Condition/ln", lnClass: "III + V" });
    expect(f.sex).toBe("female");
    expect(f.ageAt(Date.parse("2025-05-01"))).toBe(34);
    expect(f.ageAt(Date.parse("2025-05-02"))).toBe(35);
    expect(f.pregnancy[0]).toMatchObject({ source: "observation", pregnant: true });
  });
});
