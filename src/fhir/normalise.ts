/**
 * FHIR R4 resources → typed facts for src/clinical (docs/clinical-rules.md#1-facts to #3-who). Pure: the clock is passed in.
 */
import type {
  CodeableConcept,
  Coding,
  Condition,
  FhirResource,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Quantity,
} from "fhir/r4.js";
import {
  CANONICAL_UNIT,
  INVERSE_UPCR_LOINC,
  LAB_CODES,
  LN_CODES,
  PREGNANCY_STATUS_LOINC,
  SNOMED_NOT_PREGNANT,
  SNOMED_PREGNANT,
  recognizeAgent,
  type Agent,
  type CodingLike,
  type LabCode,
} from "../clinical/codes.js";
import { conversionFactor, roundClinical } from "../clinical/units.js";
import {
  DAY_MS,
  type DataQualityNote,
  type LabFact,
  type LnDiagnosis,
  type MedicationCourse,
  type MedicationStatementFact,
  type PatientFacts,
  type PregnancyFact,
  type ReasonFact,
  type ReferenceLimits,
  type Sex,
} from "../clinical/facts.js";
import { defaultThresholds, plausibleRange, type Thresholds } from "../clinical/thresholds.js";
import { parseFhirTime } from "./time.js";

const USABLE_OBSERVATION_STATUS = new Set(["final", "amended", "corrected"]);
const IGNORED_MEDICATION_STATUS = new Set([
  "entered-in-error",
  "not-taken",
  "intended",
  "cancelled",
  "draft",
]);
const MIN_TIME = Date.UTC(1900, 0, 1);
const MAX_VALUE = 1e12;

/** Tolerates a single object where R4 wants an array (real order-hook drafts do this). */
function arr<T>(x: T | readonly T[] | undefined | null): readonly T[] {
  if (x === undefined || x === null) return [];
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

function codings(cc: CodeableConcept | undefined): readonly Coding[] {
  return cc ? arr(cc.coding) : [];
}

function reasonOf(cc: CodeableConcept): ReasonFact {
  const cs = codings(cc);
  return {
    codes: cs.map((c) => c.code ?? "").filter((c) => c !== ""),
    // Shown on cards as the stop reason and matched for side effects and flares: the text and
    // each distinct coding display, kept apart so a card does not run them into one phrase.
    text: [...new Set([cc.text ?? "", ...cs.map((c) => c.display ?? "")].map((t) => t.trim()))]
      .filter((t) => t !== "")
      .join("; "),
  };
}

export interface NormaliseOptions {
  readonly thresholds?: Thresholds;
  /**
   * The caller has already reduced the resources to one copy each (`latestVersions`), as the
   * services' prefetch path does; otherwise normalisePatient does it itself.
   */
  readonly unique?: boolean;
  /**
   * The hook's `context.patientId`: the patient's reference when no Patient resource came (a
   * `null` patient prefetch), so a finding or an alert never names "Patient/" alone.
   */
  readonly patientId?: string;
}

const NO_EXCLUSIONS: ReadonlySet<string> = new Set();

/**
 * One copy of each resource (same type and id), in its latest version (`isLaterVersion`), at the
 * place of its first copy; resources without an id are all kept; "Type/id" entries in `exclude`
 * are dropped. The same resource arrives twice when an EHR fills two prefetch keys with it, or
 * when a page boundary moves between two page reads (a result corrected, an order stopped).
 */
export function latestVersions(
  lists: readonly (readonly FhirResource[])[],
  exclude: ReadonlySet<string> = NO_EXCLUSIONS,
): FhirResource[] {
  const out: FhirResource[] = [];
  // Position in `out` per resource type and id: no "Type/id" string is built per resource
  // unless one is excluded.
  const seen = new Map<string, Map<string, number>>();
  for (const list of lists) {
    for (const r of list) {
      if (r.id !== undefined) {
        let ids = seen.get(r.resourceType);
        if (ids === undefined) {
          ids = new Map();
          seen.set(r.resourceType, ids);
        }
        const at = ids.get(r.id);
        if (at !== undefined) {
          if (isLaterVersion(r, out[at] as FhirResource)) out[at] = r;
          continue;
        }
        if (exclude.size > 0 && exclude.has(`${r.resourceType}/${r.id}`)) continue;
        ids.set(r.id, out.length);
      }
      out.push(r);
    }
  }
  return out;
}

/**
 * Normalises the resources of one patient. `now` bounds plausible dates (≤ now + 1 day).
 * Resources of other types are ignored; Medication resources resolve medicationReference.
 */
export function normalisePatient(
  input: readonly FhirResource[],
  now: Date,
  options: NormaliseOptions = {},
): PatientFacts {
  // Every type, not only Observations: a MedicationRequest read twice across a page boundary,
  // once active and once stopped, must count once, as stopped.
  const resources = options.unique === true ? input : latestVersions([input]);
  const thresholds = options.thresholds ?? defaultThresholds;
  const nowMs = now.getTime();
  const maxTime = nowMs + DAY_MS;
  const notes: DataQualityNote[] = [];
  let patient: Patient | undefined;
  const medications = new Map<string, Medication>();
  const observations: Observation[] = [];
  const anonymousObservations: Observation[] = [];
  const conditions: Condition[] = [];
  const medStatements: (MedicationStatement | MedicationRequest)[] = [];

  for (const r of resources) {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- only six types matter here
    switch (r.resourceType) {
      case "Patient":
        patient ??= r;
        break;
      case "Medication":
        if (r.id) medications.set(r.id, r);
        break;
      case "Observation": {
        // One copy per id already (latestVersions); those without an id are read after them.
        if (r.id) observations.push(r);
        else anonymousObservations.push(r);
        break;
      }
      case "Condition":
        conditions.push(r);
        break;
      case "MedicationStatement":
      case "MedicationRequest":
        medStatements.push(r);
        break;
      default:
        // other resource types are not read by the rules
        break;
    }
  }

  const labs: LabFact[] = [];
  const pregnancy: PregnancyFact[] = [];
  for (const o of observations) readObservation(o, thresholds, maxTime, labs, pregnancy, notes);
  for (const o of anonymousObservations)
    readObservation(o, thresholds, maxTime, labs, pregnancy, notes);
  labs.sort((a, b) => a.time - b.time || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));

  let lnDiagnosis: LnDiagnosis | undefined;
  const allConditionCodes = conditions
    .filter(conditionActive)
    .flatMap((c) => codings(c.code).map((x) => x.code ?? ""));
  const hasM321 = allConditionCodes.some((c) => c.startsWith(LN_CODES.icd10M321Prefix));
  for (const c of [...conditions].sort((a, b) => ((a.id ?? "") < (b.id ?? "") ? -1 : 1))) {
    if (!conditionActive(c)) continue;
    if (!lnDiagnosis && isLupusNephritis(c, hasM321)) {
      const text = [c.code?.text ?? "", ...codings(c.code).map((x) => x.display ?? "")]
        .join(" ")
        .trim();
      const m = /class\s+([IVX]+(?:\s*\+\s*[IVX]+)?)/i.exec(text);
      lnDiagnosis = { ref: `Condition/${c.id ?? ""}`, text, ...(m?.[1] ? { lnClass: m[1] } : {}) };
    }
    if (isPregnancyCondition(c)) {
      const t = parseFhirTime(c.onsetDateTime ?? c.onsetPeriod?.start ?? c.recordedDate);
      const end = parseFhirTime(c.abatementDateTime ?? c.abatementPeriod?.end);
      pregnancy.push({
        ref: `Condition/${c.id ?? ""}`,
        source: "condition",
        pregnant: true,
        time: t ?? 0,
        ...(end !== undefined ? { end } : {}),
      });
    }
  }

  const statements: MedicationStatementFact[] = [];
  for (const m of medStatements) {
    const s = readMedication(m, medications, maxTime, notes);
    if (s) statements.push(s);
  }
  const courses = mergeCourses(statements, thresholds.courseMergeGapDays.value);

  const sex: Sex =
    patient?.gender === "female" || patient?.gender === "male" || patient?.gender === "other"
      ? patient.gender
      : "unknown";
  const birthDate = patient?.birthDate;
  return {
    patientRef: `Patient/${patient?.id ?? options.patientId ?? ""}`,
    sex,
    ...(birthDate ? { birthDate } : {}),
    ageAt: (time: number | Date) =>
      ageAt(birthDate, typeof time === "number" ? time : time.getTime()),
    labs,
    courses,
    ...(lnDiagnosis ? { lnDiagnosis } : {}),
    pregnancy: pregnancy.sort((a, b) => a.time - b.time || (a.ref < b.ref ? -1 : 1)),
    notes,
  };
}

function ageAt(birthDate: string | undefined, time: number): number | undefined {
  if (!birthDate) return undefined;
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate);
  if (!m) return undefined;
  const by = Number(m[1]);
  const bm = Number(m[2] ?? "1");
  const bd = Number(m[3] ?? "1");
  const d = new Date(time);
  let age = d.getUTCFullYear() - by;
  const mo = d.getUTCMonth() + 1;
  if (mo < bm || (mo === bm && d.getUTCDate() < bd)) age -= 1;
  return age;
}

/**
 * Of two copies of one resource (same type and id), whether `a` is the later version:
 * meta.lastUpdated, then meta.versionId, then (Observations) corrected/amended over final.
 * Equal copies are not later than each other, so the first one seen is kept.
 */
function isLaterVersion(a: FhirResource, b: FhirResource): boolean {
  const ta = parseFhirTime(a.meta?.lastUpdated);
  const tb = parseFhirTime(b.meta?.lastUpdated);
  if (ta !== undefined && tb !== undefined && ta !== tb) return ta > tb;
  const va = Number(a.meta?.versionId);
  const vb = Number(b.meta?.versionId);
  if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) return va > vb;
  if (a.resourceType !== "Observation" || b.resourceType !== "Observation") return false;
  const rank = (s: string) => (s === "corrected" || s === "amended" ? 2 : s === "final" ? 1 : 0);
  return rank(a.status) > rank(b.status);
}

function conditionActive(c: Condition): boolean {
  const ver = codings(c.verificationStatus).map((x) => x.code);
  if (ver.includes("entered-in-error") || ver.includes("refuted")) return false;
  const clin = codings(c.clinicalStatus).map((x) => x.code);
  return !(clin.includes("inactive") || clin.includes("resolved"));
}

function isLupusNephritis(c: Condition, patientHasM321: boolean): boolean {
  const cs = codings(c.code);
  for (const x of cs) {
    const sys = x.system ?? "";
    const code = x.code ?? "";
    if (sys.includes("icd-10") && (LN_CODES.icd10cm as readonly string[]).includes(code))
      return true;
    if (
      code === LN_CODES.icd10N085 &&
      (patientHasM321 || cs.some((y) => (y.code ?? "").startsWith("M32.1")))
    )
      return true;
    if (sys.includes("snomed") && (LN_CODES.snomed as readonly string[]).includes(code))
      return true;
  }
  const text = [c.code?.text ?? "", ...cs.map((x) => x.display ?? "")].join(" ").toLowerCase();
  return (
    text.includes("lupus") && (text.includes("nephritis") || text.includes("glomerulonephritis"))
  );
}

function isPregnancyCondition(c: Condition): boolean {
  const cs = codings(c.code);
  if (cs.some((x) => x.code === SNOMED_PREGNANT || x.code === "Z33.1" || x.code === "Z33"))
    return true;
  const text = [c.code?.text ?? "", ...cs.map((x) => x.display ?? "")].join(" ").toLowerCase();
  return /\bpregnan(t|cy)\b/.test(text) && !/\bnot pregnant\b/.test(text);
}

function observationTime(o: Observation): number | undefined {
  return parseFhirTime(
    o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued,
  );
}

function readObservation(
  o: Observation,
  thresholds: Thresholds,
  maxTime: number,
  labs: LabFact[],
  pregnancy: PregnancyFact[],
  notes: DataQualityNote[],
): void {
  const ref = `Observation/${o.id ?? ""}`;
  // One pass over the LOINC codings (no intermediate arrays: this runs for every lab of every
  // request): the last lab code wins, as before; pregnancy status and the inverse ratio noted.
  let code: string | undefined;
  let lab: LabCode | undefined;
  let isPregnancy = false;
  let hasInverseRatio = false;
  for (const c of codings(o.code)) {
    if (c.system && !c.system.includes("loinc")) continue;
    const loinc = c.code ?? "";
    // One look-up per coding, kept for the rest of the reading.
    const known = LAB_CODES.get(loinc);
    if (known !== undefined) {
      code = loinc;
      lab = known;
    } else if (loinc === PREGNANCY_STATUS_LOINC) isPregnancy = true;
    else if (loinc === INVERSE_UPCR_LOINC) hasInverseRatio = true;
  }
  const kind = lab?.kind;
  if (!code && !isPregnancy) {
    if (hasInverseRatio) {
      notes.push({
        reason: "inverse-ratio-code",
        ref,
        kind: "upcr",
        message: `LOINC ${INVERSE_UPCR_LOINC} is creatinine/protein (the inverse ratio); not read`,
      });
    }
    return;
  }
  if (!USABLE_OBSERVATION_STATUS.has(o.status)) {
    notes.push({
      reason: "status-not-final",
      ref,
      ...(kind ? { kind } : {}),
      message: `status ${o.status}: not used`,
    });
    return;
  }
  const time = observationTime(o);
  if (time === undefined) {
    notes.push({
      reason: "no-time",
      ref,
      ...(kind ? { kind } : {}),
      message: "no effective time or issued: not used",
    });
    return;
  }
  if (time < MIN_TIME || time > maxTime) {
    notes.push({
      reason: "absurd-date",
      ref,
      ...(kind ? { kind } : {}),
      message: `implausible date ${new Date(time).toISOString()}: not used`,
    });
    return;
  }
  if (isPregnancy) {
    const vc = o.valueCodeableConcept;
    const vcodes = codings(vc).map((c) => c.code);
    const vtext = [vc?.text ?? "", ...codings(vc).map((c) => c.display ?? "")]
      .join(" ")
      .toLowerCase();
    let pregnant: boolean | undefined;
    if (o.valueBoolean !== undefined) pregnant = o.valueBoolean;
    else if (vcodes.includes(SNOMED_NOT_PREGNANT) || /not pregnant/.test(vtext)) pregnant = false;
    else if (vcodes.includes(SNOMED_PREGNANT) || /pregnant/.test(vtext)) pregnant = true;
    if (pregnant !== undefined) pregnancy.push({ ref, source: "observation", pregnant, time });
    return;
  }
  if (!lab || !code) return;
  const q = o.valueQuantity;
  const raw: unknown = q?.value;
  if (q === undefined || raw === undefined || raw === null) {
    notes.push({
      reason: "no-value",
      ref,
      ...(kind ? { kind } : {}),
      message: "no valueQuantity: not used",
    });
    return;
  }
  if (typeof raw !== "number" || !Number.isFinite(raw) || raw < 0 || raw >= MAX_VALUE) {
    notes.push({
      reason: "absurd-value",
      ref,
      ...(kind ? { kind } : {}),
      message: `implausible value ${JSON.stringify(raw)}: not used`,
    });
    return;
  }
  const unit = q.code ?? q.unit;
  if (!unit) {
    notes.push({
      reason: "missing-unit",
      ref,
      ...(kind ? { kind } : {}),
      message: `value ${raw} has no unit: not used (never guessed)`,
    });
    return;
  }
  const canonical = CANONICAL_UNIT[lab.kind];
  let factor = conversionFactor(unit, canonical, lab.molecularWeight);
  // A 24-h (or 12-h) collection code defines the period: a plain mass ("g", "mg") is the amount per collection.
  if (factor === undefined && lab.kind === "protein24h") {
    const massFactor = conversionFactor(unit, "g");
    if (massFactor !== undefined) factor = massFactor * (lab.multiplier ?? 1);
  } else if (
    factor !== undefined &&
    lab.multiplier &&
    code === "26801-1" &&
    conversionFactor(unit, "g") !== undefined
  ) {
    factor *= lab.multiplier;
  }
  if (factor === undefined) {
    notes.push({
      reason: "unconvertible-unit",
      ref,
      kind: lab.kind,
      message: `unit "${unit}" cannot be converted to ${canonical}: not used (never guessed)`,
    });
    return;
  }
  const value = roundClinical(raw * factor);
  // Outside the plausible range no lab means it (Hb 0, 1e-320 g/L): ignored, never graded.
  const { min, max } = plausibleRange(lab.kind, thresholds);
  if (!(value >= min.value && value <= max.value)) {
    notes.push({
      reason: "absurd-value",
      ref,
      kind: lab.kind,
      message: `implausible value ${String(raw)} ${unit} on ${new Date(time).toISOString().slice(0, 10)} (plausible ${String(min.value)}–${String(max.value)} ${canonical}): not used`,
    });
    return;
  }
  const referenceRange = convertRange(o, unit, canonical, lab.molecularWeight);
  const fact: Writable<LabFact> = {
    kind: lab.kind,
    code,
    value,
    unit: canonical,
    time,
    ref,
    status: o.status,
    original: { value: raw, unit },
  };
  if (referenceRange) fact.referenceRange = referenceRange;
  labs.push(fact);
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function convertLimit(
  q: Quantity | undefined,
  valueUnit: string,
  canonical: string,
  mw: number | undefined,
): number | undefined {
  if (!q || typeof q.value !== "number") return undefined;
  const f = conversionFactor(q.code ?? q.unit ?? valueUnit, canonical, mw);
  return f === undefined ? undefined : roundClinical(q.value * f);
}

function convertRange(
  o: Observation,
  valueUnit: string,
  canonical: string,
  mw?: number,
): ReferenceLimits | undefined {
  const rr = arr(o.referenceRange)[0];
  if (!rr) return undefined;
  const low = convertLimit(rr.low, valueUnit, canonical, mw);
  const high = convertLimit(rr.high, valueUnit, canonical, mw);
  if (low === undefined) return high === undefined ? undefined : { high };
  return high === undefined ? { low } : { low, high };
}

function medicationConcept(
  m: MedicationStatement | MedicationRequest,
  medications: ReadonlyMap<string, Medication>,
): { codings: readonly CodingLike[]; text: string } | undefined {
  if (m.medicationCodeableConcept) {
    return {
      codings: codings(m.medicationCodeableConcept),
      text: m.medicationCodeableConcept.text ?? "",
    };
  }
  const ref = m.medicationReference?.reference;
  if (!ref) return undefined;
  let med: Medication | undefined;
  if (ref.startsWith("#")) {
    const id = ref.slice(1);
    med = arr(m.contained).find(
      (c): c is Medication => c.resourceType === "Medication" && c.id === id,
    );
  } else {
    med = medications.get(ref.replace(/^.*Medication\//, ""));
  }
  const display = m.medicationReference?.display ?? "";
  if (!med) return { codings: [], text: display };
  const ingredientCodings = arr(med.ingredient).flatMap((i) => codings(i.itemCodeableConcept));
  return {
    codings: [...codings(med.code), ...ingredientCodings],
    text: `${med.code?.text ?? ""} ${display}`.trim(),
  };
}

/** Recognises the agent of a medication resource, for callers outside the normaliser. */
export function agentOf(
  m: MedicationStatement | MedicationRequest,
  medications: ReadonlyMap<string, Medication> = new Map(),
): Agent | undefined {
  const c = medicationConcept(m, medications);
  return c ? recognizeAgent(c.codings, c.text) : undefined;
}

function readMedication(
  m: MedicationStatement | MedicationRequest,
  medications: ReadonlyMap<string, Medication>,
  maxTime: number,
  notes: DataQualityNote[],
): MedicationStatementFact | undefined {
  const ref = `${m.resourceType}/${m.id ?? ""}`;
  if (IGNORED_MEDICATION_STATUS.has(m.status)) return undefined;
  const agent = agentOf(m, medications);
  if (!agent) return undefined; // not a medication the rules read (prednisone, HCQ, ACEi …)
  let start: number | undefined;
  let end: number | undefined;
  if (m.resourceType === "MedicationStatement") {
    start = parseFhirTime(m.effectivePeriod?.start ?? m.effectiveDateTime ?? m.dateAsserted);
    end = parseFhirTime(m.effectivePeriod?.end);
  } else {
    const vp = m.dispenseRequest?.validityPeriod;
    start = parseFhirTime(vp?.start ?? m.authoredOn);
    end = parseFhirTime(vp?.end);
  }
  if (start === undefined) {
    notes.push({ reason: "medication-no-time", ref, message: `${agent}: no start time: not used` });
    return undefined;
  }
  if (start < MIN_TIME || start > maxTime) {
    notes.push({
      reason: "absurd-date",
      ref,
      message: `${agent}: implausible start date: not used`,
    });
    return undefined;
  }
  if (end === undefined && (m.status === "completed" || m.status === "stopped")) {
    // A stopped statement without an end: the last known day on it is its start.
    end = start;
  }
  // docs/clinical-rules.md#4-prior-courses: statusReason says why the status is what it is; reasonCode is the
  // indication ("lupus nephritis flare") and says why a course ended only on a stopped one.
  const reasons: ReasonFact[] = arr(m.statusReason).map(reasonOf);
  if (m.status === "stopped") for (const r of arr(m.reasonCode)) reasons.push(reasonOf(r));
  return { agent, ref, start, ...(end !== undefined ? { end } : {}), status: m.status, reasons };
}

/** §2 courses: one agent; statements that overlap or are ≤ gapDays apart merge. */
export function mergeCourses(
  statements: readonly MedicationStatementFact[],
  gapDays = 30,
): MedicationCourse[] {
  const byAgent = new Map<Agent, MedicationStatementFact[]>();
  for (const s of statements) {
    const list = byAgent.get(s.agent) ?? [];
    list.push(s);
    byAgent.set(s.agent, list);
  }
  const courses: MedicationCourse[] = [];
  for (const [agent, list] of byAgent) {
    list.sort((a, b) => a.start - b.start || (a.ref < b.ref ? -1 : 1));
    let cur:
      | {
          start: number;
          end: number | undefined;
          refs: string[];
          status: string;
          reasons: ReasonFact[];
          last: number;
        }
      | undefined;
    for (const s of list) {
      const fits =
        cur !== undefined && (cur.end === undefined || s.start - cur.end <= gapDays * DAY_MS);
      if (cur && fits) {
        cur.end =
          cur.end === undefined || s.end === undefined ? undefined : Math.max(cur.end, s.end);
        cur.refs.push(s.ref);
        cur.reasons.push(...s.reasons);
        if (s.start >= cur.last) {
          cur.status = s.status;
          cur.last = s.start;
        }
      } else {
        if (cur) courses.push(toCourse(agent, cur));
        cur = {
          start: s.start,
          end: s.end,
          refs: [s.ref],
          status: s.status,
          reasons: [...s.reasons],
          last: s.start,
        };
      }
    }
    if (cur) courses.push(toCourse(agent, cur));
  }
  return courses.sort((a, b) => a.start - b.start || (a.agent < b.agent ? -1 : 1));
}

function toCourse(
  agent: Agent,
  c: {
    start: number;
    end: number | undefined;
    refs: string[];
    status: string;
    reasons: ReasonFact[];
  },
): MedicationCourse {
  return {
    agent,
    start: c.start,
    ...(c.end !== undefined ? { end: c.end } : {}),
    refs: c.refs,
    status: c.status,
    reasons: c.reasons,
  };
}
