/**
 * Observations → lab facts and pregnancy status (docs/clinical-rules.md#1-facts): usable status,
 * plausible date and value, the unit converted to the canonical one (never guessed).
 */
import type { Observation, Quantity } from "fhir/r4.js";
import {
  CANONICAL_UNIT,
  INVERSE_UPCR_LOINC,
  LAB_CODES,
  PREGNANCY_STATUS_LOINC,
  PROTEIN_12H_URINE_LOINC,
  SNOMED_NOT_PREGNANT,
  SNOMED_PREGNANT,
  USABLE_OBSERVATION_STATUSES,
  type LabCode,
  type LabKind,
} from "../../clinical/codes.js";
import type {
  DataQualityNote,
  LabFact,
  PregnancyFact,
  ReferenceLimits,
} from "../../clinical/facts.js";
import { plausibleRange, type Thresholds } from "../../clinical/thresholds.js";
import { conversionFactor, roundClinical } from "../../clinical/units.js";
import { parseFhirTime } from "../time.js";
import { MIN_TIME, arr, codings } from "./values.js";

const MAX_VALUE = 1e12;

export function observationTime(o: Observation): number | undefined {
  return parseFhirTime(
    o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued,
  );
}

export function readObservation(
  o: Observation,
  thresholds: Thresholds,
  maxTime: number,
  labs: LabFact[],
  pregnancy: PregnancyFact[],
  notes: DataQualityNote[],
  /** When given, labs of other kinds are left unread (pregnancy status is always read). */
  labKinds?: ReadonlySet<LabKind>,
  /** Where the Observations left unread for `labKinds` go, when the caller wants them. */
  unread?: Observation[],
): void {
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
  if (kind !== undefined && !isPregnancy && labKinds !== undefined && !labKinds.has(kind)) {
    unread?.push(o);
    return;
  }
  const ref = `Observation/${o.id ?? ""}`;
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
  if (!USABLE_OBSERVATION_STATUSES.has(o.status)) {
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
    code === PROTEIN_12H_URINE_LOINC &&
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

/**
 * The latest usable lab fact at or before `until` of `observations` (as readObservation reads
 * them), or undefined. Tries the latest by time first, so usually one Observation is read.
 */
export function latestUsableLab(
  observations: readonly Observation[],
  thresholds: Thresholds,
  maxTime: number,
  until: number,
): LabFact | undefined {
  const candidates: { readonly time: number; readonly o: Observation }[] = [];
  for (const o of observations) {
    const time = observationTime(o);
    if (time !== undefined && time <= until) candidates.push({ time, o });
  }
  candidates.sort((a, b) => b.time - a.time);
  const labs: LabFact[] = [];
  const ignored: { pregnancy: PregnancyFact[]; notes: DataQualityNote[] } = {
    pregnancy: [],
    notes: [],
  };
  for (const { o } of candidates) {
    readObservation(o, thresholds, maxTime, labs, ignored.pregnancy, ignored.notes);
    if (labs[0] !== undefined) return labs[0];
  }
  return undefined;
}
