/**
 * Week-24 response to iguratimod, kang2020 primary and kdigo2024 beside it; relapse after response
 * (docs/clinical-rules.md#6-response).
 */
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
import { SNOMED_ABSENT_RESPONSE, SNOMED_ADVERSE_REACTION, SNOMED_NOT_TOLERATED } from "./codes.js";
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
  /** Window open, nothing measured yet: the date of day 196, by which the assessment is due. */
  readonly dueBy?: string;
  /** Window closed with no proteinuria in it: the date of day 196. */
  readonly windowClosed?: string;
  /** Why iguratimod was stopped, as recorded, and what kind of reason it is. */
  readonly stopReason?: { readonly text: string; readonly kind: StopReasonKind };
  /** Labs whose result can still change the verdict (the card offers to order them). */
  readonly labsToOrder?: readonly AssessmentLab[];
  /** Relapse or no response: the KDIGO 2024 work-up (sediment, C3, C4, anti-dsDNA) is due. */
  readonly workUp?: boolean;
  /** Relapse, no response, a stop: the latest proteinuria, beside week 24 and baseline. */
  readonly proteinuriaNow?: DecidingValue;
}

/** What a lab order for the week-24 assessment may ask for. */
export type AssessmentLab = "protein24h" | "creatinine" | "albumin" | "urineSediment";

export type StopReasonKind = "adverse-event" | "flare" | "no-response" | "other" | "none";

/** SNOMED CT 407563006 |Treatment not tolerated|, 281647001 |Adverse reaction|. */
const ADVERSE_CODES: ReadonlySet<string> = new Set([SNOMED_NOT_TOLERATED, SNOMED_ADVERSE_REACTION]);
const ADVERSE_TEXT =
  /not tolerated|intoleran|adverse|side[- ]effect|toxicit|an(a)?emia|leukopeni|thrombocytopeni.*drug|hepat|liver|rash|allerg/i;
const FLARE_TEXT = /flare|relapse|lupus activity|disease activity/i;

/**
 * The kind of a recorded stop reason. An adverse event by code or by a side effect in the text;
 * a flare (renal or extra-renal lupus activity) by its words; "absent response" by its code.
 */
export function stopReasonKind(reasons: MedicationCourse["reasons"]): StopReasonKind {
  if (reasons.length === 0) return "none";
  if (reasons.some((r) => r.codes.some((c) => ADVERSE_CODES.has(c)) || ADVERSE_TEXT.test(r.text)))
    return "adverse-event";
  if (reasons.some((r) => FLARE_TEXT.test(r.text))) return "flare";
  if (reasons.some((r) => r.codes.includes(SNOMED_ABSENT_RESPONSE))) return "no-response";
  return "other";
}

function stopReasonText(reasons: MedicationCourse["reasons"]): string {
  const texts = reasons.map((r) => r.text.trim()).filter((x) => x !== "");
  return texts.length > 0 ? [...new Set(texts)].join("; ") : "not recorded";
}

export function currentIguratimodCourse(
  facts: Pick<PatientFacts, "courses">,
  now: Date,
): MedicationCourse | undefined {
  const n = now.getTime();
  let cur: MedicationCourse | undefined;
  for (const c of facts.courses) if (c.agent === "iguratimod" && c.start <= n) cur = c;
  return cur;
}

/**
 * The earliest instant of a lab that week24Response can read for these courses. Every lab it
 * reads is either a baseline value (proteinuria, creatinine, eGFR: inside the baseline window
 * before the current course's day 0) or a value after day 0 with its companions (within the
 * companion window of that value). So no lab older than day 0 less the larger of those two windows
 * can change its finding. Infinity when there is no current course (no finding at all).
 */
export function responseLabsFrom(
  courses: readonly MedicationCourse[],
  now: Date,
  t: Thresholds = defaultThresholds,
): number {
  const course = currentIguratimodCourse({ courses }, now);
  if (course === undefined) return Infinity;
  const reach = Math.max(t.responseBaselineBeforeDays.value, t.companionLabWindowDays.value);
  return course.start - days(reach);
}

interface Judged {
  readonly kang: Kang2020Verdict;
  readonly kdigo: Kdigo2024Verdict;
  readonly dv: DecidingValue[];
  readonly sedimentMissing: boolean;
  readonly notes: DataQualityNote[];
}

type LabKind = Parameters<typeof labsOf>[1];

/**
 * Every kind of lab the response rules read (docs/clinical-rules.md#6-response), and whose
 * data-quality notes they show: labs of other kinds (hemoglobin, ALT) never change a finding,
 * so a caller may leave them unread.
 */
export const RESPONSE_LAB_KINDS: readonly LabKind[] = [
  "protein24h",
  "upcr",
  "creatinine",
  "albumin",
  "urineRbc",
  "rbcCasts",
  "egfr",
];

/**
 * The patient's labs of one kind, split once per evaluation: judging a value asks for five kinds,
 * and scanning every lab of the patient for each showed in profiles.
 */
function labsByKind(facts: PatientFacts): (kind: LabKind) => readonly LabFact[] {
  const split = new Map<LabKind, LabFact[]>();
  for (const l of facts.labs) {
    const list = split.get(l.kind);
    if (list === undefined) split.set(l.kind, [l]);
    else list.push(l);
  }
  return (kind) => split.get(kind) ?? [];
}

/** Judge one proteinuria value against baseline with its companion labs (kang2020 + kdigo2024). */
function judge(
  facts: PatientFacts,
  kinds: (kind: LabKind) => readonly LabFact[],
  p: LabFact,
  baseProtein: LabFact | undefined,
  day0: number,
  t: Thresholds,
): Judged {
  const w = days(t.companionLabWindowDays.value);
  const near = (k: LabKind) => nearest(kinds(k), p.time, p.time - w, p.time + w);
  const creat = near("creatinine");
  const alb = near("albumin");
  const rbc = near("urineRbc");
  const casts = near("rbcCasts");
  const b0 = day0 - days(t.responseBaselineBeforeDays.value);
  const b1 = day0 + days(t.responseBaselineAfterDays.value);
  const baseCreat = nearest(kinds("creatinine"), day0, b0, b1);
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
  // proteinuria; baseline: the docs/clinical-rules.md#6-response baseline window), else it is computed from that creatinine.
  const egfrNear = (
    c: LabFact | undefined,
    time: number,
    from: number,
    to: number,
  ): DecidingValue | undefined => {
    const obs = nearest(kinds("egfr"), time, from, to);
    if (obs) return decidingValue("eGFR", obs);
    const age = c ? facts.ageAt(c.time) : undefined;
    if (!c || age === undefined) return undefined;
    const value = egfrCkdEpi2021(creatinineUmolToMgDl(c.value), age, facts.sex);
    if (value === undefined) return undefined;
    // Computed from that creatinine (CKD-EPI 2021): its evidence is the creatinine.
    return {
      label: "eGFR (CKD-EPI 2021)",
      kind: "egfr",
      value,
      unit: "mL/min/{1.73_m2}",
      time: iso(c.time),
      ref: c.ref,
    };
  };
  const egfrNowDv = egfrNear(creat, p.time, p.time - w, p.time + w);
  const egfrBaseDv = egfrNear(baseCreat, day0, b0, b1);
  const eNow = egfrNowDv?.value;
  const eBase = egfrBaseDv?.value;
  // eGFR beside the creatinine it belongs to (docs/clinical-rules.md#9-cards).
  const at = (label: string) => dv.findIndex((d) => d.label === label);
  if (egfrNowDv) dv.splice(at("creatinine") + 1 || dv.length, 0, egfrNowDv);
  if (egfrBaseDv)
    dv.splice(at("baseline creatinine") + 1 || dv.length, 0, {
      ...egfrBaseDv,
      label: `baseline ${egfrBaseDv.label}`,
    });
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

/** docs/clinical-rules.md#6-response: one response finding for the current iguratimod course, or undefined without one. */
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
  const notes: DataQualityNote[] = factNotes(facts, RESPONSE_LAB_KINDS);
  const baseP = nearestProteinuria(
    facts,
    day0,
    day0 - days(t.responseBaselineBeforeDays.value),
    day0 + days(t.responseBaselineAfterDays.value),
  );
  if (baseP?.substituted) notes.push(substitutionNote(baseP.value));
  const stopKind = stoppedAt !== undefined ? stopReasonKind(course.reasons) : undefined;
  const common = {
    day0: iso(day0),
    ...(stoppedAt !== undefined
      ? {
          stopped: iso(stoppedAt),
          stopReason: { text: stopReasonText(course.reasons), kind: stopKind ?? "none" },
        }
      : {}),
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
  /**
   * The latest proteinuria of all, from `after` on (after a stop too): "now" beside week 24 and
   * baseline. A row of its own only when it is not `after` itself.
   */
  const proteinuriaNowOf = (after: LabFact) => {
    const last = proteinuria(facts, after.time, n).values.at(-1) ?? after;
    const dv = decidingValue("proteinuria now", last);
    return { proteinuriaNow: dv, rows: last.ref === after.ref ? [] : [dv] };
  };

  // Stopped before day 140: discontinued early, with the last on-treatment status.
  if (stoppedAt !== undefined && stoppedAt < winStart) {
    const last = latestOnDrug();
    const dv: DecidingValue[] = [];
    let lastStatus: Kang2020Verdict | undefined;
    if (last) {
      if (last.substituted) notes.push(substitutionNote(last.value));
      const j = judge(facts, labsByKind(facts), last.value, baseP?.value, day0, t);
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
  // Only values measured on iguratimod count for its week-24 verdict.
  const assessed =
    n >= winStart
      ? nearestProteinuria(facts, target, winStart, Math.min(winEnd, onDrugUntil))
      : undefined;
  const windowStillOpen = stoppedAt === undefined && n <= winEnd;

  // Before day 140, or inside the window with nothing measured yet: interim.
  if (!assessed && windowStillOpen) {
    const last = latestOnDrug();
    if (last?.substituted) notes.push(substitutionNote(last.value));
    const change = last && baseP ? pct(last.value.value, baseP.value.value) : undefined;
    const dv: DecidingValue[] = [];
    if (baseP) dv.push(decidingValue("baseline proteinuria", baseP.value));
    if (last) dv.push(decidingValue("latest proteinuria", last.value));
    const inWindow = n >= winStart;
    return {
      code: "response-interim",
      indicator: "info",
      ...common,
      ...(change !== undefined ? { proteinuriaChangePercent: change } : {}),
      ...(inWindow
        ? {
            dueBy: iso(winEnd),
            labsToOrder: ["protein24h", "creatinine", "albumin", "urineSediment"] as const,
          }
        : {}),
      decidingValues: dv,
      evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
      notes,
      summary: inWindow
        ? `Iguratimod week ${common.weeksOnDrug}: week-24 assessment due by ${iso(winEnd).slice(0, 10)}`
        : `Iguratimod week ${common.weeksOnDrug}${change !== undefined ? `: proteinuria ${change > 0 ? "+" : ""}${change}% from baseline` : ""}`,
    };
  }

  if (!assessed) {
    const week24 = {
      kang2020: "insufficient-data" as const,
      kdigo2024: "insufficient-data" as const,
      assessed: iso(target),
      upcrSubstituted: false,
      sedimentMissing: true,
    };
    const criteria = { kang2020: week24.kang2020, kdigo2024: week24.kdigo2024 };
    const dv = baseP ? [decidingValue("baseline proteinuria", baseP.value)] : [];
    if (stoppedAt !== undefined) {
      // Stopped inside the window before a proteinuria on drug: the stop is the news.
      return stoppedFinding({ ...common, week24, criteria }, dv, evidenceBase, notes, stopKind);
    }
    return {
      code: "week24-insufficient-data",
      indicator: "info",
      ...common,
      windowClosed: iso(winEnd),
      week24,
      criteria,
      decidingValues: dv,
      evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
      notes,
      summary: `Week-24 response cannot be judged: no proteinuria in the window, which closed on ${iso(winEnd).slice(0, 10)}`,
    };
  }

  if (assessed.substituted) notes.push(substitutionNote(assessed.value));
  const j = judge(facts, labsByKind(facts), assessed.value, baseP?.value, day0, t);
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
      // Read once, not for each creatinine value.
      const rbcAfter = after("urineRbc");
      const castsAfter = after("rbcCasts");
      for (const c of after("creatinine")) {
        if (flare && flare.values[0] && flare.values[0].time <= c.time) break;
        if (c.value < t.nephriticFlareCreatinineFraction.value * w24Creat.value) continue;
        const rbc = nearest(rbcAfter, c.time, c.time - w, c.time + w);
        const casts = nearest(castsAfter, c.time, c.time - w, c.time + w);
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
      // A relapse before the stop takes precedence over the stop (docs/clinical-rules.md#6-response).
      const flareDv = flare.values.map((v) => decidingValue(`${flare.kind} flare`, v));
      const first = flare.values[0];
      const pNow = proteinuriaNowOf(first ?? assessed.value);
      const dv = [...flareDv, ...pNow.rows, ...j.dv];
      return {
        code: "renal-relapse",
        indicator: "warning",
        ...base,
        proteinuriaNow: pNow.proteinuriaNow,
        followUp: { status: "relapse", flare: flare.kind, at: iso(first?.time ?? n) },
        workUp: true,
        decidingValues: dv,
        evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
        notes,
        summary: `Renal relapse (${flare.kind} flare) after week-24 ${j.kang} on iguratimod`,
      };
    }
    if (stoppedAt !== undefined) {
      const pNow = proteinuriaNowOf(assessed.value);
      return stoppedFinding(
        { ...base, proteinuriaNow: pNow.proteinuriaNow },
        [...pNow.rows, ...j.dv],
        evidenceBase,
        notes,
        stopKind,
      );
    }
    if (n > winEnd && series.length > 0) {
      return {
        code: "remission-maintained",
        indicator: "info",
        ...base,
        followUp: { status: "maintained" },
        decidingValues: [
          decidingValue("latest proteinuria", series[series.length - 1] as LabFact),
          ...j.dv,
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
  const pNow = proteinuriaNowOf(assessed.value);
  if (stoppedAt !== undefined)
    return stoppedFinding(
      { ...base, proteinuriaNow: pNow.proteinuriaNow },
      [...pNow.rows, ...j.dv],
      evidenceBase,
      notes,
      stopKind,
    );
  const code =
    j.kang === "CR"
      ? "week24-complete-response"
      : j.kang === "PR"
        ? "week24-partial-response"
        : j.kang === "NR"
          ? "week24-no-response"
          : "week24-insufficient-data";
  const noResponse = code === "week24-no-response";
  const dv = noResponse ? [...pNow.rows, ...j.dv] : j.dv;
  // Companion labs missing near the assessed value can still be ordered while that value is
  // within their window (± 14 days); later, no order can change the verdict.
  const orderable =
    code === "week24-insufficient-data" &&
    n <= assessed.value.time + days(t.companionLabWindowDays.value)
      ? (["creatinine", "albumin"] as const).filter(
          (k) => !j.dv.some((d) => d.label === (k === "creatinine" ? "creatinine" : "albumin")),
        )
      : [];
  return {
    code,
    indicator: code === "week24-no-response" ? "warning" : "info",
    ...base,
    ...(noResponse ? { workUp: true, proteinuriaNow: pNow.proteinuriaNow } : {}),
    ...(orderable.length > 0 ? { labsToOrder: orderable } : {}),
    decidingValues: dv,
    evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
    notes,
    summary: `Week-24 response to iguratimod: kang2020 ${j.kang}, kdigo2024 ${j.kdigo}`,
  };
}

/**
 * Iguratimod stopped on or after day 140 (docs/clinical-rules.md#6-response): the week-24 verdict,
 * the stop date and its reason; a warning when it was stopped for an adverse event or a flare.
 * Never "on iguratimod" about any time after the stop.
 */
function stoppedFinding(
  base: Omit<ResponseFinding, keyof Finding | "code" | "indicator"> & {
    readonly criteria: NonNullable<Finding["criteria"]>;
  },
  dv: DecidingValue[],
  evidenceBase: readonly string[],
  notes: DataQualityNote[],
  kind: StopReasonKind | undefined,
): ResponseFinding {
  const warn = kind === "adverse-event" || kind === "flare";
  const verdict = base.week24?.kang2020 ?? "insufficient-data";
  return {
    code: "iguratimod-stopped",
    indicator: warn ? "warning" : "info",
    ...base,
    ...(verdict === "NR" ? { workUp: true } : {}),
    decidingValues: dv,
    evidence: uniqueRefs([...evidenceBase, ...dv.map((d) => d.ref)]),
    notes,
    summary: `Iguratimod stopped on ${(base.stopped ?? "").slice(0, 10)} after week-24 ${verdict}`,
  };
}
