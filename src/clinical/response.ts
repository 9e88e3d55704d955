/** §6 Week-24 response to iguratimod, kang2020 primary and kdigo2024 beside it; relapse after response. */
import {
  DAY_MS,
  type DataQualityNote,
  type LabFact,
  type MedicationCourse,
  type PatientFacts,
} from "./facts.js";
import { egfrCkdEpi2021, creatinineUmolToMgDl } from "./egfr.js";
import {
  uniqueRefs,
  type DecidingValue,
  type Finding,
  type Kang2020Verdict,
  type Kdigo2024Verdict,
  type ResponseCode,
} from "./findings.js";
import { defaultThresholds, type Thresholds } from "./thresholds.js";
import {
  creatinineAtOrBelowUln,
  factNotes,
  days,
  decidingValue,
  iso,
  labsOf,
  nearest,
  nearestProteinuria,
  proteinuria,
  substitutionNote,
} from "./timeline.js";

export interface ResponseFinding extends Finding<ResponseCode> {
  /** Start of the current continuous iguratimod course (day 0). */
  readonly day0: string;
  /** iguratimod end when stopped. */
  readonly stopped?: string;
  /** Whole days from day 0 to now (or to the stop). */
  readonly daysOnDrug: number;
  readonly weeksOnDrug: number;
  /** Proteinuria change from baseline to the latest (interim, discontinued) or week-24 value, in %. */
  readonly proteinuriaChangePercent?: number;
  /** Present once the week-24 assessment was made (also kept for relapse/maintained). */
  readonly week24?: {
    readonly kang2020: Kang2020Verdict;
    readonly kdigo2024: Kdigo2024Verdict;
    readonly assessed: string;
    readonly upcrSubstituted: boolean;
    readonly sedimentMissing: boolean;
  };
  /** After a week-24 CR/PR: a renal relapse (proteinuria or nephritic flare) or remission maintained. */
  readonly followUp?: {
    readonly status: "relapse" | "maintained";
    readonly flare?: "proteinuria" | "nephritic";
    readonly at?: string;
  };
  /** Status of the last on-treatment proteinuria (discontinued early). */
  readonly lastStatus?: Kang2020Verdict;
}

export function currentIguratimodCourse(
  facts: PatientFacts,
  now: Date,
): MedicationCourse | undefined {
  const n = now.getTime();
  let cur: MedicationCourse | undefined;
  for (const c of facts.courses) if (c.agent === "iguratimod" && c.start <= n) cur = c;
  return cur;
}

interface Judged {
  readonly kang: Kang2020Verdict;
  readonly kdigo: Kdigo2024Verdict;
  readonly dv: DecidingValue[];
  readonly sedimentMissing: boolean;
  readonly notes: DataQualityNote[];
}

/** Judge one proteinuria value against baseline with its companion labs (kang2020 + kdigo2024). */
function judge(
  facts: PatientFacts,
  p: LabFact,
  baseProtein: LabFact | undefined,
  day0: number,
  t: Thresholds,
): Judged {
  const w = days(t.companionLabWindowDays.value);
  const near = (k: Parameters<typeof labsOf>[1]) =>
    nearest(labsOf(facts, k), p.time, p.time - w, p.time + w);
  const creat = near("creatinine");
  const alb = near("albumin");
  const rbc = near("urineRbc");
  const casts = near("rbcCasts");
  const b0 = day0 - days(t.responseBaselineBeforeDays.value);
  const b1 = day0 + days(t.responseBaselineAfterDays.value);
  const baseCreat = nearest(labsOf(facts, "creatinine"), day0, b0, b1);
  const dv: DecidingValue[] = [decidingValue("assessed proteinuria", p)];
  if (baseProtein) dv.push(decidingValue("baseline proteinuria", baseProtein));
  if (creat) dv.push(decidingValue("creatinine", creat));
  if (baseCreat) dv.push(decidingValue("baseline creatinine", baseCreat));
  if (alb) dv.push(decidingValue("albumin", alb));
  if (rbc) dv.push(decidingValue("urine RBC", rbc));
  if (casts) dv.push(decidingValue("urine RBC casts", casts));
  const notes: DataQualityNote[] = [];
  const sedimentMissing = !rbc || !casts;
  if (sedimentMissing) {
    notes.push({
      reason: "sediment-missing",
      message:
        "urine sediment (RBC/HPF, casts) missing near the assessment: not blocking CR (kang2020), disclosed",
    });
  }

  // kang2020 CR: protein < 0.3, creatinine ≤ ULN, RBC ≤ 5/HPF, no casts (missing sediment does not block)
  const crOk =
    p.value < t.crProteinBelow.value &&
    creat !== undefined &&
    creatinineAtOrBelowUln(creat, facts.sex, t) &&
    (!rbc || rbc.value <= t.crUrineRbcAtMost.value) &&
    (!casts || casts.value <= 0);
  let kang: Kang2020Verdict;
  if (crOk) kang = "CR";
  else {
    // kang2020 PR: ≤ 2.0 and ≤ 50 % of baseline, albumin > 30 g/L, creatinine ≤ 125 % of baseline
    const checks: (boolean | undefined)[] = [
      p.value <= t.prProteinAtMost.value,
      baseProtein
        ? p.value <= t.prProteinFractionOfBaselineAtMost.value * baseProtein.value
        : undefined,
      alb ? alb.value > t.prAlbuminAbove.value : undefined,
      creat && baseCreat
        ? creat.value <= t.prCreatinineFractionOfBaselineAtMost.value * baseCreat.value
        : undefined,
    ];
    kang = checks.includes(false) ? "NR" : checks.includes(undefined) ? "insufficient-data" : "PR";
  }

  // kdigo2024: eGFR (CKD-EPI 2021) no more than 15 % below baseline. A reported eGFR is taken from
  // the same window as the creatinine beside it (assessed: ± the companion window of the
  // proteinuria; baseline: the §6 baseline window), else it is computed from that creatinine.
  const egfrNear = (
    c: LabFact | undefined,
    time: number,
    from: number,
    to: number,
  ): number | undefined => {
    const obs = nearest(labsOf(facts, "egfr"), time, from, to);
    if (obs) return obs.value;
    const age = facts.ageAt(time);
    if (!c || age === undefined) return undefined;
    return egfrCkdEpi2021(creatinineUmolToMgDl(c.value), age, facts.sex);
  };
  const eNow = egfrNear(creat, p.time, p.time - w, p.time + w);
  const eBase = egfrNear(baseCreat, day0, b0, b1);
  const stable =
    eNow !== undefined && eBase !== undefined
      ? eNow >= (1 - t.kdigoEgfrMaxFallFraction.value) * eBase
      : undefined;
  let kdigo: Kdigo2024Verdict;
  const prKd =
    baseProtein !== undefined
      ? p.value <= (1 - t.kdigoPrReductionAtLeast.value) * baseProtein.value &&
        p.value < t.kdigoPrProteinBelow.value
      : undefined;
  if (p.value < t.kdigoCrProteinBelow.value && stable === true) kdigo = "CR";
  else if (prKd === true && stable === true) kdigo = "PR";
  else if (stable === false || prKd === false) kdigo = "NR";
  else kdigo = "insufficient-data";
  return { kang, kdigo, dv, sedimentMissing, notes };
}

const pct = (v: number, base: number) => Math.round(((v - base) / base) * 1000) / 10;

/** §6: one response finding for the current iguratimod course, or undefined without one. */
export function week24Response(
  facts: PatientFacts,
  now: Date,
  thresholds: Thresholds = defaultThresholds,
): ResponseFinding | undefined {
  const t = thresholds;
  const course = currentIguratimodCourse(facts, now);
  if (!course) return undefined;
  const n = now.getTime();
  const day0 = course.start;
  const stoppedAt = course.end !== undefined && course.end <= n ? course.end : undefined;
  const onDrugUntil = stoppedAt ?? n;
  const daysOnDrug = Math.floor((onDrugUntil - day0) / DAY_MS);
  const notes: DataQualityNote[] = factNotes(facts, [
    "protein24h",
    "upcr",
    "creatinine",
    "albumin",
    "urineRbc",
    "rbcCasts",
    "egfr",
  ]);
  const baseP = nearestProteinuria(
    facts,
    day0,
    day0 - days(t.responseBaselineBeforeDays.value),
    day0 + days(t.responseBaselineAfterDays.value),
  );
  if (baseP?.substituted) notes.push(substitutionNote(baseP.value));
  const common = {
    day0: iso(day0),
    ...(stoppedAt !== undefined ? { stopped: iso(stoppedAt) } : {}),
    daysOnDrug,
    weeksOnDrug: Math.floor(daysOnDrug / 7),
  };
  const evidenceBase = [...course.refs, ...(baseP ? [baseP.value.ref] : [])];
  const winStart = day0 + days(t.assessmentWindowStartDay.value);
  const winEnd = day0 + days(t.assessmentWindowEndDay.value);

  const latestOnDrug = () => {
    const s = proteinuria(facts, day0 + 1, onDrugUntil);
    const last = s.values[s.values.length - 1];
    return last ? { value: last, substituted: s.substituted } : undefined;
  };

  // Stopped before day 140: discontinued early, with the last on-treatment status.
  if (stoppedAt !== undefined && stoppedAt < winStart) {
    const last = latestOnDrug();
    const dv: DecidingValue[] = [];
    let lastStatus: Kang2020Verdict | undefined;
    if (last) {
      if (last.substituted) notes.push(substitutionNote(last.value));
      const j = judge(facts, last.value, baseP?.value, day0, t);
      lastStatus = j.kang;
      dv.push(...j.dv);
    }
    const change = last && baseP ? pct(last.value.value, baseP.value.value) : undefined;
    return {
      code: "week24-discontinued-early",
      indicator: "info",
      ...common,
      ...(change !== undefined ? { proteinuriaChangePercent: change } : {}),
      ...(lastStatus ? { lastStatus } : {}),
      decidingValues: dv,
      evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
      notes,
      summary: `Iguratimod stopped at week ${common.weeksOnDrug}, before the week-24 assessment${lastStatus ? ` (last status: ${lastStatus})` : ""}`,
    };
  }

  const target = day0 + days(t.assessmentDay.value);
  const assessed =
    n >= winStart ? nearestProteinuria(facts, target, winStart, Math.min(winEnd, n)) : undefined;

  // Before day 140, or inside the window with nothing measured yet: interim.
  if (!assessed && n <= winEnd) {
    const last = latestOnDrug();
    if (last?.substituted) notes.push(substitutionNote(last.value));
    const change = last && baseP ? pct(last.value.value, baseP.value.value) : undefined;
    const dv: DecidingValue[] = [];
    if (baseP) dv.push(decidingValue("baseline proteinuria", baseP.value));
    if (last) dv.push(decidingValue("latest proteinuria", last.value));
    return {
      code: "response-interim",
      indicator: "info",
      ...common,
      ...(change !== undefined ? { proteinuriaChangePercent: change } : {}),
      decidingValues: dv,
      evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
      notes,
      summary: `Iguratimod week ${common.weeksOnDrug}${change !== undefined ? `: proteinuria ${change > 0 ? "+" : ""}${change}% from baseline` : ""}`,
    };
  }

  if (!assessed) {
    return {
      code: "week24-insufficient-data",
      indicator: "info",
      ...common,
      week24: {
        kang2020: "insufficient-data",
        kdigo2024: "insufficient-data",
        assessed: iso(target),
        upcrSubstituted: false,
        sedimentMissing: true,
      },
      criteria: { kang2020: "insufficient-data", kdigo2024: "insufficient-data" },
      decidingValues: baseP ? [decidingValue("baseline proteinuria", baseP.value)] : [],
      evidence: uniqueRefs(evidenceBase),
      notes,
      summary: "Week-24 response cannot be judged: no proteinuria in days 140–196",
    };
  }

  if (assessed.substituted) notes.push(substitutionNote(assessed.value));
  const j = judge(facts, assessed.value, baseP?.value, day0, t);
  notes.push(...j.notes);
  const week24 = {
    kang2020: j.kang,
    kdigo2024: j.kdigo,
    assessed: iso(assessed.value.time),
    upcrSubstituted: assessed.substituted,
    sedimentMissing: j.sedimentMissing,
  };
  const change = baseP ? pct(assessed.value.value, baseP.value.value) : undefined;
  const criteria = { kang2020: j.kang, kdigo2024: j.kdigo };
  const base = {
    ...common,
    week24,
    criteria,
    ...(change !== undefined ? { proteinuriaChangePercent: change } : {}),
  };

  if (j.kang === "CR" || j.kang === "PR") {
    // Renal relapse while on iguratimod, after the week-24 value.
    const after = (k: "creatinine" | "urineRbc" | "rbcCasts") =>
      labsOf(facts, k, assessed.value.time + 1, onDrugUntil);
    const series = proteinuria(facts, assessed.value.time + 1, onDrugUntil).values;
    let lowest = assessed.value.value;
    let flare: { kind: "proteinuria" | "nephritic"; values: LabFact[] } | undefined;
    for (const v of series) {
      const isFlare =
        j.kang === "CR"
          ? v.value > t.flareAfterCrProteinAbove.value
          : v.value >= t.flareAfterPrMultipleOfLowest.value * lowest &&
            v.value >= t.flareAfterPrProteinAtLeast.value;
      if (isFlare) {
        flare = { kind: "proteinuria", values: [v] };
        break;
      }
      lowest = Math.min(lowest, v.value);
    }
    const w24Creat = j.dv.find((d) => d.kind === "creatinine" && d.label === "creatinine");
    if (w24Creat) {
      const w = days(t.companionLabWindowDays.value);
      for (const c of after("creatinine")) {
        if (flare && flare.values[0] && flare.values[0].time <= c.time) break;
        if (c.value < t.nephriticFlareCreatinineFraction.value * w24Creat.value) continue;
        const rbc = nearest(after("urineRbc"), c.time, c.time - w, c.time + w);
        const casts = nearest(after("rbcCasts"), c.time, c.time - w, c.time + w);
        const active =
          (rbc && rbc.value > t.nephriticFlareUrineRbcAbove.value) || (casts && casts.value > 0);
        if (active) {
          flare = {
            kind: "nephritic",
            values: [c, ...(rbc ? [rbc] : []), ...(casts ? [casts] : [])],
          };
          break;
        }
      }
    }
    if (flare) {
      const dv = [...j.dv, ...flare.values.map((v) => decidingValue(`${flare.kind} flare`, v))];
      return {
        code: "renal-relapse",
        indicator: "warning",
        ...base,
        followUp: { status: "relapse", flare: flare.kind, at: iso(flare.values[0]?.time ?? n) },
        decidingValues: dv,
        evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
        notes,
        summary: `Renal relapse (${flare.kind} flare) after week-24 ${j.kang} on iguratimod`,
      };
    }
    if (n > winEnd && series.length > 0) {
      return {
        code: "remission-maintained",
        indicator: "info",
        ...base,
        followUp: { status: "maintained" },
        decidingValues: [
          ...j.dv,
          decidingValue("latest proteinuria", series[series.length - 1] as LabFact),
        ],
        evidence: uniqueRefs([
          ...evidenceBase,
          ...j.dv.map((d) => d.ref),
          ...series.map((s) => s.ref),
        ]),
        notes,
        summary: `Remission maintained since week-24 ${j.kang} (kang2020); kdigo2024: ${j.kdigo}`,
      };
    }
  }
  const code =
    j.kang === "CR"
      ? "week24-complete-response"
      : j.kang === "PR"
        ? "week24-partial-response"
        : j.kang === "NR"
          ? "week24-no-response"
          : "week24-insufficient-data";
  return {
    code,
    indicator: code === "week24-no-response" ? "warning" : "info",
    ...base,
    decidingValues: j.dv,
    evidence: uniqueRefs([...evidenceBase, ...j.dv.map((d) => d.ref)]),
    notes,
    summary: `Week-24 response to iguratimod: kang2020 ${j.kang}, kdigo2024 ${j.kdigo}`,
  };
}
