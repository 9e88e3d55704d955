/**
 * A draft MedicationRequest of order-select / order-sign, read as the order rules need it
 * (docs/clinical-rules.md#8-ordering): which agent, and every dosage line as it was sent (amount,
 * unit kind, how often, `sequence`). Judging the dose (readable or not, mg/day, steps) is the
 * rules' job (src/clinical/dose.ts); this reader only reads, tolerating not-quite-valid R4 (single
 * objects where R4 wants arrays), and never guesses a unit.
 */
import type {
  CodeableConcept,
  Dosage,
  Medication,
  MedicationRequest,
  Quantity,
  Ratio,
} from "fhir/r4.js";
import { SNOMED_TABLET } from "../../clinical/codes.js";
import type {
  DoseAmount,
  DoseLineFacts,
  DoseTiming,
  DraftOrderFacts,
} from "../../clinical/dose.js";
import { conversionFactor } from "../../clinical/units.js";
import { agentOf } from "./index.js";
import { arr, codings, countOf, isObject, str, textOf } from "./values.js";

/** Units of presentation that mean "tablets" (UCUM annotations, words, SNOMED CT 732936001). */
const TABLET_UNIT = /^\{?(tbl|tab|tabs|tablet|tablets|pill|pills)\}?$/i;

/** "25 MG", "25 mg", "0.025 g" in a product name: the strength of one tablet. */
const STRENGTH_IN_NAME = /(\d+(?:\.\d+)?)\s*(mg|g|mcg|ug|µg)\b/gi;

function strengthsInText(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(STRENGTH_IN_NAME)) {
    const unit = (m[2] ?? "").toLowerCase().replace("µ", "u").replace("mcg", "ug");
    const f = conversionFactor(unit, "mg");
    if (f !== undefined) out.push(Number(m[1]) * f);
  }
  return out;
}

function conceptTexts(cc: CodeableConcept | undefined): string[] {
  return [textOf(cc), ...codings(cc).map((c) => c.display ?? "")].filter((t) => t !== "");
}

/** mg per unit of presentation from a Medication's ingredient strength (mg / 1 tablet). */
function ingredientStrengths(med: Medication): number[] {
  const out: number[] = [];
  for (const ing of arr(med.ingredient)) {
    const s: Ratio | undefined = ing.strength;
    const num = s?.numerator;
    const den = s?.denominator;
    if (typeof num?.value !== "number") continue;
    const f = conversionFactor(str(num.code) ?? str(num.unit) ?? "", "mg");
    if (f === undefined) continue;
    const per = typeof den?.value === "number" ? den.value : 1;
    if (per > 0) out.push((num.value * f) / per);
  }
  return out;
}

/**
 * The strength of one tablet of the ordered product, in mg: from its Medication's ingredient
 * strength, else from the product's name ("Iguratimod 25 MG Oral Tablet"). Undefined when no
 * strength is stated, or when the sources disagree (then the dose in tablets cannot be read).
 */
export function tabletStrengthMg(
  mr: MedicationRequest,
  medications: ReadonlyMap<string, Medication>,
): number | undefined {
  let med: Medication | undefined;
  const ref = str(mr.medicationReference?.reference);
  if (ref?.startsWith("#")) {
    med = arr(mr.contained).find(
      (c): c is Medication => c.resourceType === "Medication" && c.id === ref.slice(1),
    );
  } else if (ref) {
    med = medications.get(ref.replace(/^.*Medication\//, ""));
  }
  const fromIngredients = med ? ingredientStrengths(med) : [];
  const candidates =
    fromIngredients.length > 0
      ? fromIngredients
      : [
          ...conceptTexts(mr.medicationCodeableConcept),
          ...conceptTexts(med?.code),
          str(mr.medicationReference?.display) ?? "",
        ].flatMap(strengthsInText);
  const distinct = [...new Set(candidates.map((c) => Math.round(c * 1000) / 1000))];
  return distinct.length === 1 ? distinct[0] : undefined;
}

function quantityText(q: Quantity): string {
  const v =
    typeof q.value === "number" && Number.isFinite(q.value)
      ? String(q.value)
      : "(unreadable number)";
  return `${v} ${str(q.unit) ?? str(q.code) ?? "(no unit)"}`.trim();
}

/** A field that is there but is not a string (a number, an object): it cannot be read. */
const notString = (x: unknown): boolean => x !== undefined && typeof x !== "string";

function amountOf(q: Quantity, strengthMg: number | undefined): DoseAmount {
  const value = typeof q.value === "number" ? q.value : Number.NaN;
  // A unit that cannot be read is never guessed from the other fields.
  if (notString(q.code) || notString(q.unit) || notString(q.system)) {
    return { kind: "other", value, unit: "(unreadable)" };
  }
  const unit = q.code ?? q.unit ?? "";
  const isTablet =
    TABLET_UNIT.test(q.code ?? "") ||
    TABLET_UNIT.test(q.unit ?? "") ||
    (q.code === SNOMED_TABLET && q.system?.includes("snomed") === true);
  if (isTablet) {
    return { kind: "tablet", value, ...(strengthMg !== undefined ? { strengthMg } : {}) };
  }
  const f = unit === "" ? undefined : conversionFactor(unit, "mg");
  if (f !== undefined) return { kind: "mass", value, mgFactor: f };
  return { kind: "other", value, unit: unit === "" ? "(no unit)" : unit };
}

const PERIOD_DAYS: Readonly<Record<string, number>> = {
  s: 1 / 86400,
  min: 1 / 1440,
  h: 1 / 24,
  d: 1,
  wk: 7,
  mo: 30,
  a: 365,
};

/** GTS abbreviations an EHR may send instead of a repeat. */
const TIMES_BY_CODE: Readonly<Record<string, number>> = { QD: 1, BID: 2, TID: 3, QID: 4 };

function timingOf(d: Dosage): { timing?: DoseTiming; text: string } {
  const timing: unknown = d.timing;
  const rep = isObject(timing) && isObject(timing.repeat) ? d.timing?.repeat : undefined;
  const whenCount = countOf(rep?.when) + countOf(rep?.timeOfDay);
  if (rep && (rep.frequency !== undefined || rep.period !== undefined || whenCount > 0)) {
    // Worst case where a range is given: the most administrations in the shortest period. A
    // frequency that is there but not a number is unreadable, never defaulted.
    const rawMax: unknown = rep.frequencyMax;
    const rawFrequency: unknown = rep.frequency;
    const frequency =
      typeof rawMax === "number"
        ? rawMax
        : rawMax !== undefined
          ? Number.NaN
          : typeof rawFrequency === "number"
            ? rawFrequency
            : rawFrequency !== undefined
              ? Number.NaN
              : whenCount > 0
                ? whenCount
                : 1;
    // Drafts are not schema-checked beyond what the rules read: a period that is not a number
    // is passed on as unreadable, never defaulted.
    const rawPeriod: unknown = rep.period;
    const period = typeof rawPeriod === "number" ? rawPeriod : rawPeriod === undefined ? 1 : NaN;
    const rawUnit: unknown = rep.periodUnit;
    const unit =
      typeof rawUnit === "string" ? rawUnit : rawUnit === undefined ? "d" : "(unreadable)";
    const periodDays = Object.hasOwn(PERIOD_DAYS, unit) ? PERIOD_DAYS[unit] : undefined;
    return {
      timing: {
        frequency,
        period,
        ...(periodDays !== undefined ? { periodDays } : {}),
        periodUnit: unit,
      },
      text: `${Number.isFinite(frequency) ? frequency : "(unreadable number)"} per ${Number.isFinite(period) ? period : "(unreadable number)"} ${unit}`,
    };
  }
  const code = codings(isObject(timing) ? d.timing?.code : undefined)
    .map((c) => (c.code ?? "").toUpperCase())
    .find((c) => Object.hasOwn(TIMES_BY_CODE, c));
  if (code) {
    return {
      timing: { frequency: TIMES_BY_CODE[code] ?? 1, period: 1, periodDays: 1, periodUnit: "d" },
      text: code,
    };
  }
  return { text: "how often not stated" };
}

/**
 * The dose quantity of a dosage line: a range is judged at its upper end (the most the order
 * allows). "unreadable" when a doseAndRate entry, a doseQuantity or a range's high is there
 * but is not an object (null, a number, a string): a dose was sent that cannot be read.
 */
function doseQuantityOf(d: Dosage): Quantity | "unreadable" | undefined {
  const raw: unknown = d.doseAndRate;
  if (raw === undefined) return undefined;
  for (const x of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
    if (!isObject(x)) return "unreadable";
    let q: unknown = x.doseQuantity;
    if (q === undefined) {
      const range = x.doseRange;
      if (range === undefined) continue;
      if (!isObject(range)) return "unreadable";
      q = range.high;
      if (q === undefined) return undefined;
    }
    return isObject(q) ? (q as Quantity) : "unreadable";
  }
  return undefined;
}

/** A dose that is there but cannot be read: never a figure (the amount is not a number). */
const UNREADABLE_AMOUNT: DoseAmount = { kind: "other", value: Number.NaN, unit: "(unreadable)" };

function lineOf(d: Dosage, strengthMg: number | undefined): DoseLineFacts {
  const q = doseQuantityOf(d);
  const amount = q === "unreadable" ? UNREADABLE_AMOUNT : q ? amountOf(q, strengthMg) : undefined;
  const { timing, text: timingText } = timingOf(d);
  const doseText = q === "unreadable" ? "unreadable dose" : q ? quantityText(q) : "no dose";
  const sent = `${doseText}, ${timingText}`;
  const text = str(d.text);
  return {
    ...(typeof d.sequence === "number" ? { sequence: d.sequence } : {}),
    sent: text ? `${text} (${sent})` : sent,
    ...(amount ? { amount } : {}),
    ...(timing ? { timing } : {}),
  };
}

/** Reads one draft. `medications`: Medication resources sent beside it in `draftOrders`. */
export function readDraftOrder(
  mr: MedicationRequest,
  medications: readonly Medication[] = [],
): DraftOrderFacts {
  const medMap = new Map(medications.filter((m) => m.id).map((m) => [m.id ?? "", m]));
  const agent = agentOf(mr, medMap);
  const strengthMg = agent === "iguratimod" ? tabletStrengthMg(mr, medMap) : undefined;
  const lines = arr(mr.dosageInstruction).map((d) => lineOf(d, strengthMg));
  return {
    ref: `MedicationRequest/${mr.id ?? ""}`,
    isIguratimod: agent === "iguratimod",
    ...(agent ? { agent } : {}),
    lines,
  };
}
