/**
 * What the course app shows, computed by the services' own code: the FHIR resources go through
 * the same normaliser (src/fhir/normalise/) and the same rules (src/clinical) the services run,
 * bundled for the browser. Nothing here decides a verdict; it only arranges the rules' results
 * and facts for the charts (docs/clinical-rules.md#9-cards).
 */
import type { FhirResource, MedicationStatement, MedicationRequest } from "fhir/r4.js";
import {
  anemiaFinding,
  creatinineUmolToMgDl,
  currentIguratimodCourse,
  DAY_MS,
  defaultThresholds,
  egfrCkdEpi2021,
  iguratimodOrderChecks,
  liverFinding,
  monitoringOverdue,
  refractoryEligibility,
  UCUM_SYSTEM,
  week24Response,
  type DataQualityNote,
  type Finding,
  type LabFact,
  type MedicationCourse,
  type PatientFacts,
  type Thresholds,
} from "../../clinical/index.js";
import { altUln, hemoglobinLln, nearestProteinuria } from "../../clinical/timeline.js";
import { readDraftOrder } from "../../fhir/normalise/draft-orders.js";
import { latestVersions, normalisePatient } from "../../fhir/normalise/index.js";

export interface Verdict {
  /** The service whose card carries it. */
  readonly service: string;
  readonly finding: Finding;
  /** When it was decided: its latest deciding value, or now. */
  readonly at: number;
}

export interface Point {
  readonly time: number;
  readonly value: number;
  readonly unit: string;
  readonly ref: string;
  readonly label: string;
}

export interface SteroidDose {
  readonly start: number;
  readonly end: number;
  readonly mgPerDay: number;
  readonly ref: string;
}

export interface CourseView {
  readonly facts: PatientFacts;
  readonly now: number;
  readonly from: number;
  readonly day0?: number;
  readonly courses: readonly MedicationCourse[];
  readonly verdicts: readonly Verdict[];
  readonly series: {
    readonly protein: readonly Point[];
    readonly hemoglobin: readonly Point[];
    readonly altXUln: readonly Point[];
    readonly albumin: readonly Point[];
    readonly creatinine: readonly Point[];
    readonly egfr: readonly Point[];
  };
  readonly lines: {
    readonly proteinHalfBaseline?: number;
    readonly hbLln: number;
    readonly hbBaselineMinusFall?: number;
  };
  readonly steroid: readonly SteroidDose[];
  /** Values the normaliser set aside (implausible, unreadable unit…): listed, never plotted. */
  readonly excluded: readonly DataQualityNote[];
}

const EXCLUDED_REASONS = new Set([
  "unknown-unit",
  "missing-unit",
  "unconvertible-unit",
  "absurd-value",
  "absurd-date",
  "no-value",
  "inverse-ratio-code",
]);

const point = (l: LabFact, value = l.value, unit = l.unit): Point => ({
  time: l.time,
  value,
  unit,
  ref: l.ref,
  label: `${String(l.original.value)} ${l.original.unit}`,
});

function decidedAt(f: Finding, now: number): number {
  const times = f.decidingValues.map((v) => Date.parse(v.time)).filter((t) => !Number.isNaN(t));
  return times.length > 0 ? Math.max(...times) : now;
}

/** Glucocorticoid doses (shown when recorded): statements naming prednisone or its kin with mg/day. */
function steroidDoses(resources: readonly FhirResource[], now: number): SteroidDose[] {
  const out: SteroidDose[] = [];
  for (const r of resources) {
    if (r.resourceType !== "MedicationStatement" && r.resourceType !== "MedicationRequest")
      continue;
    const m: MedicationStatement | MedicationRequest = r;
    const names = [
      m.medicationCodeableConcept?.text ?? "",
      ...(m.medicationCodeableConcept?.coding ?? []).map((c) => c.display ?? ""),
    ]
      .join(" ")
      .toLowerCase();
    if (!/predniso|methylpred|hydrocortison|dexamethason/.test(names)) continue;
    const dosage =
      r.resourceType === "MedicationStatement" ? r.dosage?.[0] : r.dosageInstruction?.[0];
    const dose = dosage?.doseAndRate?.[0]?.doseQuantity;
    if (dose?.value === undefined || (dose.code ?? dose.unit) !== "mg") continue;
    const perDay = dosage?.timing?.repeat?.frequency ?? 1;
    const period =
      r.resourceType === "MedicationStatement"
        ? r.effectivePeriod
        : { start: r.authoredOn, end: r.dispenseRequest?.validityPeriod?.end };
    const start = Date.parse(
      period?.start ??
        (r.resourceType === "MedicationStatement" ? (r.effectiveDateTime ?? "") : ""),
    );
    if (Number.isNaN(start)) continue;
    const endRaw = period?.end ? Date.parse(period.end) : NaN;
    out.push({
      start,
      end: Number.isNaN(endRaw) ? now : endRaw,
      mgPerDay: dose.value * perDay,
      ref: `${r.resourceType}/${r.id ?? ""}`,
    });
  }
  return out;
}

export function courseView(
  resources: readonly FhirResource[],
  patientId: string,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): CourseView {
  const t = thresholds;
  const unique = latestVersions([resources]);
  const facts = normalisePatient(unique, now, { thresholds: t, unique: true, patientId });
  const n = now.getTime();
  const course = currentIguratimodCourse(facts, now);
  const day0 = course?.start;

  // The four services' verdicts, from their own rules.
  const verdicts: Verdict[] = [];
  const add = (service: string, f: Finding | undefined): void => {
    if (f) verdicts.push({ service, finding: f, at: decidedAt(f, n) });
  };
  add("refractory-ln-eligibility", refractoryEligibility(facts, now, t));
  add("iguratimod-response", week24Response(facts, now, t));
  add("iguratimod-safety", anemiaFinding(facts, now, t));
  add("iguratimod-safety", liverFinding(facts, now, t));
  add("iguratimod-safety", monitoringOverdue(facts, now, t));
  // The order check judges a draft: here, the study regimen as if ordered today.
  const studyDraft = readDraftOrder({
    resourceType: "MedicationRequest",
    id: "course-app-study-regimen",
    status: "draft",
    intent: "order",
    subject: { reference: `Patient/${patientId}` },
    medicationCodeableConcept: { text: "iguratimod" },
    dosageInstruction: [
      {
        timing: {
          repeat: { frequency: t.iguratimodStudyTimesPerDay.value, period: 1, periodUnit: "d" },
        },
        doseAndRate: [
          {
            doseQuantity: {
              value: t.iguratimodStudyDoseMg.value,
              unit: "mg",
              system: UCUM_SYSTEM,
              code: "mg",
            },
          },
        ],
      },
    ],
  });
  for (const f of iguratimodOrderChecks(facts, studyDraft, now, t)) {
    if (f.code !== "refractory-ln-eligible" && f.code !== "refractory-ln-not-eligible")
      add("iguratimod-order-sign", f);
  }

  const of = (kind: LabFact["kind"]) => facts.labs.filter((l) => l.kind === kind);
  const protein = [...of("protein24h"), ...of("upcr")]
    .sort((a, b) => a.time - b.time)
    .map((l) => point(l));
  const hb = of("hemoglobin");
  const alt = of("alt");
  const creat = of("creatinine");
  const egfr = creat.flatMap((l) => {
    const age = facts.ageAt(l.time);
    const e =
      age === undefined ? undefined : egfrCkdEpi2021(creatinineUmolToMgDl(l.value), age, facts.sex);
    return e === undefined ? [] : [point(l, Math.round(e), "mL/min/1.73 m²")];
  });
  const recordedEgfr = of("egfr").map((l) => point(l, l.value, "mL/min/1.73 m²"));

  let proteinHalfBaseline: number | undefined;
  let hbBaselineMinusFall: number | undefined;
  if (day0 !== undefined) {
    const base = nearestProteinuria(
      facts,
      day0,
      day0 - t.responseBaselineBeforeDays.value * DAY_MS,
      day0 + t.responseBaselineAfterDays.value * DAY_MS,
    );
    if (base) proteinHalfBaseline = base.value.value * t.prProteinFractionOfBaselineAtMost.value;
  }
  const anemia = verdicts.find((v) => v.finding.code === "anemia");
  const hbBase = anemia?.finding.decidingValues.find((v) => v.label.startsWith("baseline"));
  if (hbBase) hbBaselineMinusFall = hbBase.value - t.anemiaFallWarningAtLeast.value;

  const firstCourse = facts.courses[0]?.start ?? n;
  const firstLab = facts.labs[0]?.time ?? n;
  return {
    facts,
    now: n,
    from: Math.min(firstCourse, firstLab),
    ...(day0 !== undefined ? { day0 } : {}),
    courses: facts.courses,
    verdicts,
    series: {
      protein,
      hemoglobin: hb.map((l) => point(l)),
      altXUln: alt.map((l) =>
        point(l, Math.round((l.value / altUln(l, facts.sex, t)) * 100) / 100, "× ULN"),
      ),
      albumin: of("albumin").map((l) => point(l)),
      creatinine: creat.map((l) => point(l)),
      egfr: recordedEgfr.length > 0 ? recordedEgfr : egfr,
    },
    lines: {
      ...(proteinHalfBaseline !== undefined ? { proteinHalfBaseline } : {}),
      hbLln: hemoglobinLln(hb[hb.length - 1], facts.sex, t),
      ...(hbBaselineMinusFall !== undefined ? { hbBaselineMinusFall } : {}),
    },
    steroid: steroidDoses(unique, n),
    excluded: facts.notes.filter((note) => EXCLUDED_REASONS.has(note.reason)),
  };
}
