/**
 * MedicationStatements and MedicationRequests → medication facts, one per record
 * (docs/clinical-rules.md#2-medications, #4-prior-courses); src/clinical/courses.ts merges
 * them into courses.
 */
import type {
  CodeableConcept,
  Medication,
  MedicationRequest,
  MedicationStatement,
} from "fhir/r4.js";
import {
  UNREAD_MEDICATION_STATUSES,
  recognizeAgent,
  type Agent,
  type CodingLike,
} from "../../clinical/codes.js";
import type { DataQualityNote, MedicationStatementFact, ReasonFact } from "../../clinical/facts.js";
import { parseFhirTime } from "../time.js";
import { MIN_TIME, arr, codings, isObject, str, textOf } from "./values.js";

function reasonOf(cc: CodeableConcept): ReasonFact {
  const cs = codings(cc);
  return {
    codes: cs.map((c) => c.code ?? "").filter((c) => c !== ""),
    // Shown on cards as the stop reason and matched for side effects and flares: the text and
    // each distinct coding display, kept apart so a card does not run them into one phrase.
    text: [...new Set([textOf(cc), ...cs.map((c) => c.display ?? "")].map((t) => t.trim()))]
      .filter((t) => t !== "")
      .join("; "),
  };
}

function medicationConcept(
  m: MedicationStatement | MedicationRequest,
  medications: ReadonlyMap<string, Medication>,
): { codings: readonly CodingLike[]; text: string } | undefined {
  // A concept or reference of the wrong type (a string, a number) is not read: the medication
  // is then unrecognised, never guessed (docs/clinical-rules.md#2-medications).
  const concept = m.medicationCodeableConcept;
  if (concept) {
    return { codings: codings(concept), text: textOf(concept) };
  }
  const reference: unknown = m.medicationReference;
  if (!isObject(reference)) return undefined;
  const ref = str(reference.reference);
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
  const display = str(reference.display) ?? "";
  if (!med) return { codings: [], text: display };
  const ingredientCodings = arr(med.ingredient).flatMap((i) => codings(i.itemCodeableConcept));
  return {
    codings: [...codings(med.code), ...ingredientCodings],
    text: `${textOf(med.code)} ${display}`.trim(),
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

export function readMedication(
  m: MedicationStatement | MedicationRequest,
  medications: ReadonlyMap<string, Medication>,
  maxTime: number,
  notes: DataQualityNote[],
): MedicationStatementFact | undefined {
  const ref = `${m.resourceType}/${m.id ?? ""}`;
  if (UNREAD_MEDICATION_STATUSES.has(m.status)) return undefined;
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
  // Two literals, not a spread: this runs for every medication record of every request.
  return end !== undefined
    ? { agent, ref, start, end, status: m.status, reasons }
    : { agent, ref, start, status: m.status, reasons };
}
