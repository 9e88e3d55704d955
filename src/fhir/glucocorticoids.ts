/**
 * Glucocorticoid statements and requests of a patient as facts for the response cards: agent
 * (RxNorm ingredient or name), period and daily dose in mg (a dose in another unit is not read).
 */
import type { Dosage, FhirResource, MedicationRequest, MedicationStatement } from "fhir/r4.js";
import {
  GLUCOCORTICOID_CODES,
  type Glucocorticoid,
  type GlucocorticoidFact,
} from "../clinical/glucocorticoids.js";
import { UNREAD_MEDICATION_STATUSES } from "../clinical/codes.js";
import { parseFhirTime } from "./time.js";
import { codings, isObject, str, textOf } from "./normalise/values.js";

const AGENTS = Object.keys(GLUCOCORTICOID_CODES) as Glucocorticoid[];

/** Each code's agent: the first agent (in GLUCOCORTICOID_CODES' order) listing it. */
const AGENT_BY_CODE: ReadonlyMap<string, Glucocorticoid> = new Map(
  AGENTS.flatMap((a) => GLUCOCORTICOID_CODES[a].map((code) => [code, a] as const)).reverse(),
);

/**
 * Matches every text in which the lower-case search below can find a name: each name holds
 * "prednis", "dexamethasone" or "hydrocortisone", matched here in either case of A–Z. That is
 * all that lower-casing can bring to these names: the other characters whose lower case is ASCII
 * (U+212A Kelvin sign, "k"; U+0130, "i" and a combining dot) give a "k", which no name holds, or
 * an "i" followed by the dot, where every name's "i" is followed by "s". No name holds a space,
 * so none spans two of the texts that the search joins.
 */
const ANY_NAME = /prednis|dexamethasone|hydrocortisone/i;

function agentOf(r: MedicationStatement | MedicationRequest): Glucocorticoid | undefined {
  const cc = r.medicationCodeableConcept;
  if (!cc) return undefined;
  // codings() and textOf() read a field of the wrong JSON type as absent.
  const cs = codings(cc);
  for (const c of cs) {
    const agent = c.code ? AGENT_BY_CODE.get(c.code) : undefined;
    if (agent !== undefined) return agent;
  }
  // Most medications name no glucocorticoid: one case-blind pattern over each of their texts
  // says so without writing the lower-case text below (see ANY_NAME).
  if (!ANY_NAME.test(textOf(cc)) && !cs.some((c) => c.display && ANY_NAME.test(c.display)))
    return undefined;
  const text = [textOf(cc), ...cs.map((c) => c.display ?? "")].join(" ").toLowerCase();
  // "methylprednisolone" and "prednisolone" contain "prednisolone": the longer name first.
  for (const a of [
    "methylprednisolone",
    "prednisolone",
    "prednisone",
    "dexamethasone",
    "hydrocortisone",
  ] as const)
    if (text.includes(a)) return a;
  return undefined;
}

/** Date.parse of a FHIR date or dateTime (NaN when unreadable, or not a string). */
function timeOf(s: unknown): number {
  return parseFhirTime(s) ?? Number.NaN;
}

const PER_DAY: Readonly<Record<string, number>> = { d: 1, h: 24, wk: 1 / 7, mo: 1 / 30 };

function mgPerDay(d: Dosage | undefined): number | undefined {
  if (!isObject(d)) return undefined;
  const first: unknown = Array.isArray(d.doseAndRate) ? d.doseAndRate[0] : undefined;
  const q: unknown = isObject(first) ? first.doseQuantity : undefined;
  if (!isObject(q) || typeof q.value !== "number" || !(q.value > 0)) return undefined;
  const unit = (str(q.code) ?? str(q.unit) ?? "").toLowerCase();
  if (unit !== "mg") return undefined;
  // A frequency, period or unit of the wrong JSON type: the dose is not read.
  const rep: unknown = isObject(d.timing) ? d.timing.repeat : undefined;
  const r = isObject(rep) ? rep : {};
  const freq = r.frequency ?? 1;
  const period = r.period ?? 1;
  const periodUnit = r.periodUnit ?? "d";
  if (typeof freq !== "number" || typeof period !== "number" || typeof periodUnit !== "string")
    return undefined;
  const per = Object.hasOwn(PER_DAY, periodUnit) ? PER_DAY[periodUnit] : undefined;
  if (per === undefined || !(period > 0)) return undefined;
  const mg = (q.value * freq * per) / period;
  return Number.isFinite(mg) ? mg : undefined;
}

/**
 * Glucocorticoid facts of a patient's statements and requests; only those whose subject is the
 * patient (docs/clinical-rules.md#2-medications, whose data).
 */
export function glucocorticoidFacts(
  resources: readonly FhirResource[],
  patientId: string,
): GlucocorticoidFact[] {
  const out: GlucocorticoidFact[] = [];
  const relative = `Patient/${patientId}`;
  const absoluteEnd = `/${relative}`;
  const own = (ref: unknown) =>
    typeof ref === "string" && (ref === relative || ref.endsWith(absoluteEnd));
  for (const r of resources) {
    if (r.resourceType !== "MedicationStatement" && r.resourceType !== "MedicationRequest")
      continue;
    // A resource without a subject (invalid, but sent) is nobody's: never used.
    const subject = (r as { subject?: { reference?: unknown } }).subject;
    if (!own(subject?.reference)) continue;
    if (UNREAD_MEDICATION_STATUSES.has(r.status)) continue;
    const agent = agentOf(r);
    if (!agent) continue;
    const period =
      r.resourceType === "MedicationStatement"
        ? (r.effectivePeriod ?? (r.effectiveDateTime ? { start: r.effectiveDateTime } : undefined))
        : (r.dispenseRequest?.validityPeriod ??
          (r.authoredOn ? { start: r.authoredOn } : undefined));
    // parseFhirTime reads a string as Date.parse does, without its cost; anything else (not
    // valid FHIR, but sent) still goes to Date.parse.
    const start = timeOf(period?.start ?? "");
    if (Number.isNaN(start)) continue;
    const end = period?.end ? timeOf(period.end) : undefined;
    const dosages: unknown =
      r.resourceType === "MedicationStatement" ? r.dosage : r.dosageInstruction;
    const dose = mgPerDay(Array.isArray(dosages) ? (dosages[0] as Dosage | undefined) : undefined);
    out.push({
      agent,
      ref: `${r.resourceType}/${r.id ?? ""}`,
      start,
      ...(end !== undefined && !Number.isNaN(end) ? { end } : {}),
      ...(dose !== undefined ? { mgPerDay: dose } : {}),
    });
  }
  return out;
}
