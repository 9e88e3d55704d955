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
  LOINC_SYSTEM,
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
import { MIN_TIME, arr, codings, str, textOf } from "./values.js";

const MAX_VALUE = 1e12;

/** What reading a lab of one LOINC code needs, worked out once per code rather than per lab. */
interface CodeReading {
  readonly code: string;
  readonly lab: LabCode;
  readonly canonical: string;
  /** Index of this code in the per-code tables of a reader. */
  readonly slot: number;
  /** Index of its kind in LAB_KINDS. */
  readonly kindSlot: number;
}

const LAB_KINDS = Object.keys(CANONICAL_UNIT) as LabKind[];

const CODE_READINGS: ReadonlyMap<string, CodeReading> = new Map(
  [...LAB_CODES].map(([code, lab], slot) => [
    code,
    { code, lab, canonical: CANONICAL_UNIT[lab.kind], slot, kindSlot: LAB_KINDS.indexOf(lab.kind) },
  ]),
);

export function observationTime(o: Observation): number | undefined {
  return parseFhirTime(
    o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued,
  );
}

/**
 * Reads the Observations of one patient into lab facts, pregnancy status and data-quality notes.
 * One reader per normalisation: what every lab of a request shares (the plausible range of each
 * kind, the factor of each code's unit, the time of a draw's labs) is worked out once for it,
 * and nothing is kept from one request to the next.
 */
export class ObservationReader {
  readonly labs: LabFact[] = [];
  readonly pregnancy: PregnancyFact[] = [];
  readonly notes: DataQualityNote[] = [];
  /** The Observations left unread for `labKinds` or `labsFrom`, when the caller asked for them. */
  readonly unread: Observation[] | undefined;
  /**
   * The id of the Observation of each lab, in the order of `labs`: the references of a chart's
   * labs differ only after "Observation/", and comparing the ids, not the references built
   * from them, is what sortByTimeThenRef needs.
   */
  readonly labIds: string[] = [];
  private readonly bounds: readonly { readonly min: number; readonly max: number }[];
  /** Per code: the last unit seen, and UCUM's factor from it to the canonical unit. */
  private readonly units: (string | undefined)[] = [];
  private readonly factors: (number | undefined)[] = [];
  /** The last time text read and its time (the labs of one draw share it). */
  private timeText: string | undefined;
  private time: number | undefined;

  constructor(
    private readonly thresholds: Thresholds,
    private readonly maxTime: number,
    /** When given, labs of other kinds are left unread (pregnancy status is always read). */
    private readonly labKinds?: ReadonlySet<LabKind>,
    keepUnread = false,
    /**
     * When given, labs dated before it are left unread, and with Infinity every lab (pregnancy
     * status is always read).
     */
    private readonly labsFrom?: number,
  ) {
    this.unread = keepUnread ? [] : undefined;
    this.bounds = LAB_KINDS.map((kind) => {
      const { min, max } = plausibleRange(kind, thresholds);
      return { min: min.value, max: max.value };
    });
  }

  /** The time of an Observation, as observationTime gives it. */
  timeOf(o: Observation): number | undefined {
    const text = o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued;
    if (text !== this.timeText) {
      this.time = parseFhirTime(text);
      this.timeText = text;
    }
    return this.time;
  }

  /** UCUM's factor from `unit` to the canonical unit of `reading`'s code (undefined: none). */
  private factorOf(unit: string, reading: CodeReading): number | undefined {
    if (this.units[reading.slot] !== unit) {
      this.factors[reading.slot] = conversionFactor(
        unit,
        reading.canonical,
        reading.lab.molecularWeight,
      );
      this.units[reading.slot] = unit;
    }
    return this.factors[reading.slot];
  }

  read(o: Observation): void {
    const notes = this.notes;
    // One pass over the LOINC codings (no intermediate arrays: this runs for every lab of every
    // request): the last lab code wins, as before; pregnancy status and the inverse ratio noted.
    let reading: CodeReading | undefined;
    let isPregnancy = false;
    let hasInverseRatio = false;
    for (const c of codings(o.code)) {
      const system = c.system;
      // The usual system is compared first: a substring search per coding showed in profiles.
      if (system !== LOINC_SYSTEM && system && !system.includes("loinc")) continue;
      const loinc = c.code ?? "";
      // One look-up per coding, kept for the rest of the reading.
      const known = CODE_READINGS.get(loinc);
      if (known !== undefined) reading = known;
      else if (loinc === PREGNANCY_STATUS_LOINC) isPregnancy = true;
      else if (loinc === INVERSE_UPCR_LOINC) hasInverseRatio = true;
    }
    const lab = reading?.lab;
    const kind = lab?.kind;
    if (
      kind !== undefined &&
      !isPregnancy &&
      this.labKinds !== undefined &&
      !this.labKinds.has(kind)
    ) {
      this.unread?.push(o);
      return;
    }
    if (kind !== undefined && !isPregnancy && this.labsFrom !== undefined) {
      // Infinity: no lab at all. Otherwise left unread only when its date is certainly before
      // `labsFrom`: a lab with no usable time, or one before MIN_TIME, goes on to its note below.
      // Kept among the unread, when they are kept, like a lab of another kind.
      if (this.labsFrom === Infinity) {
        this.unread?.push(o);
        return;
      }
      const time = this.timeOf(o);
      if (time !== undefined && time >= MIN_TIME && time < this.labsFrom) {
        this.unread?.push(o);
        return;
      }
    }
    const ref = `Observation/${o.id ?? ""}`;
    if (!reading && !isPregnancy) {
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
    // "final" first: a set look-up hashes each request's fresh status string.
    if (o.status !== "final" && !USABLE_OBSERVATION_STATUSES.has(o.status)) {
      notes.push({
        reason: "status-not-final",
        ref,
        ...(kind ? { kind } : {}),
        message: `status ${o.status}: not used`,
      });
      return;
    }
    const time = this.timeOf(o);
    if (time === undefined) {
      const text: unknown = this.timeText;
      notes.push({
        reason: "no-time",
        ref,
        ...(kind ? { kind } : {}),
        message:
          text === undefined || text === null || text === ""
            ? "no effective time or issued: not used"
            : "effective time is not a FHIR dateTime: not used",
      });
      return;
    }
    if (time < MIN_TIME || time > this.maxTime) {
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
      const vtext = [textOf(vc), ...codings(vc).map((c) => c.display ?? "")]
        .join(" ")
        .toLowerCase();
      let pregnant: boolean | undefined;
      if (typeof o.valueBoolean === "boolean") pregnant = o.valueBoolean;
      else if (vcodes.includes(SNOMED_NOT_PREGNANT) || /not pregnant/.test(vtext)) pregnant = false;
      else if (vcodes.includes(SNOMED_PREGNANT) || /pregnant/.test(vtext)) pregnant = true;
      if (pregnant !== undefined)
        this.pregnancy.push({ ref, source: "observation", pregnant, time });
      return;
    }
    if (!reading || !lab) return;
    const code = reading.code;
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
    const unit = str(q.code) ?? str(q.unit);
    if (!unit) {
      notes.push({
        reason: "missing-unit",
        ref,
        ...(kind ? { kind } : {}),
        message: `value ${raw} has no unit: not used (never guessed)`,
      });
      return;
    }
    const canonical = reading.canonical;
    let factor = this.factorOf(unit, reading);
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
    const { min, max } = this.bounds[reading.kindSlot] as { min: number; max: number };
    if (!(value >= min && value <= max)) {
      notes.push({
        reason: "absurd-value",
        ref,
        kind: lab.kind,
        message: `implausible value ${String(raw)} ${unit} on ${new Date(time).toISOString().slice(0, 10)} (plausible ${String(min)}–${String(max)} ${canonical}): not used`,
      });
      return;
    }
    const referenceRange = this.convertRange(o, unit, reading);
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
    this.labs.push(fact);
    this.labIds.push(o.id ?? "");
  }

  private convertLimit(
    q: Quantity | undefined,
    valueUnit: string,
    reading: CodeReading,
  ): number | undefined {
    if (!q || typeof q.value !== "number") return undefined;
    const unit = str(q.code) ?? str(q.unit) ?? valueUnit;
    const f =
      unit === valueUnit
        ? this.factorOf(unit, reading)
        : conversionFactor(unit, reading.canonical, reading.lab.molecularWeight);
    return f === undefined ? undefined : roundClinical(q.value * f);
  }

  private convertRange(
    o: Observation,
    valueUnit: string,
    reading: CodeReading,
  ): ReferenceLimits | undefined {
    const rr = arr(o.referenceRange)[0];
    if (!rr) return undefined;
    const low = this.convertLimit(rr.low, valueUnit, reading);
    const high = this.convertLimit(rr.high, valueUnit, reading);
    if (low === undefined) return high === undefined ? undefined : { high };
    return high === undefined ? { low } : { low, high };
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The latest usable lab fact at or before `until` of `observations` (as an ObservationReader with
 * no kinds left out reads them), or undefined. The latest by time is read first (of those of one
 * time, the first given), so usually one Observation is read.
 */
export function latestUsableLab(
  observations: readonly Observation[],
  thresholds: Thresholds,
  maxTime: number,
  until: number,
): LabFact | undefined {
  const reader = new ObservationReader(thresholds, maxTime);
  let latest: Observation | undefined;
  let latestTime = -Infinity;
  for (const o of observations) {
    const time = reader.timeOf(o);
    if (time !== undefined && time <= until && time > latestTime) {
      latest = o;
      latestTime = time;
    }
  }
  if (latest === undefined) return undefined;
  // Each reading pushes at most one lab: the first is the answer.
  const labOf = (o: Observation): LabFact | undefined => {
    reader.read(o);
    return reader.labs[0];
  };
  const first = labOf(latest);
  if (first !== undefined) return first;
  // The latest was not usable: the others, latest first (a stable sort keeps the given order
  // among those of one time).
  const candidates: { readonly time: number; readonly o: Observation }[] = [];
  for (const o of observations) {
    const time = reader.timeOf(o);
    if (time !== undefined && time <= until && o !== latest) candidates.push({ time, o });
  }
  candidates.sort((a, b) => b.time - a.time);
  for (const { o } of candidates) {
    const lab = labOf(o);
    if (lab !== undefined) return lab;
  }
  return undefined;
}
