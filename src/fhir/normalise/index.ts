/**
 * FHIR R4 resources → typed facts for src/clinical (docs/clinical-rules.md#1-facts to #3-who).
 * Pure: the clock is passed in. One module per job: versions (one copy of each resource),
 * observations (labs, units, plausibility), medications (statements and requests → courses),
 * conditions (the LN diagnosis, pregnancy), and draft-orders (an order hook's draft → the dose
 * facts of docs/clinical-rules.md#8-ordering, read by the order check, not by normalisePatient).
 */
import type {
  Condition,
  FhirResource,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
} from "fhir/r4.js";
import {
  DAY_MS,
  type DataQualityNote,
  type MedicationCourse,
  type MedicationStatementFact,
  type PatientFacts,
  type Sex,
} from "../../clinical/facts.js";
import type { LabKind } from "../../clinical/codes.js";
import { mergeCourses } from "../../clinical/courses.js";
import { defaultThresholds, type Thresholds } from "../../clinical/thresholds.js";
import { readConditions } from "./conditions.js";
import { readMedication } from "./medications.js";
import { ObservationReader, latestUsableLab } from "./observations.js";
import { sortByTimeThenRef } from "./order.js";
import { latestVersions } from "./versions.js";

export { latestVersions } from "./versions.js";
export { agentOf } from "./medications.js";

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
  /**
   * Only labs of these kinds are read; the others are left unread, with no data-quality note.
   * For a caller whose rules read only these kinds (they are a third of a typical chart's labs).
   * A function gives the kinds from the patient's medication courses, read first.
   */
  readonly labKinds?:
    | ReadonlySet<LabKind>
    | ((courses: readonly MedicationCourse[]) => ReadonlySet<LabKind>);
  /**
   * With `labKinds`: the latest usable lab at or before `now` of those left unread (other kinds,
   * and with `labsFrom` older labs) is read too (and only it, with no note), for a rule that asks
   * when any result last came.
   */
  readonly latestOfOtherKinds?: boolean;
  /**
   * For rules that read no lab older than some instant their medication courses fix (the
   * response rules: nothing before the baseline window of the current iguratimod course). The
   * medications are read first; labs dated before the instant this returns are left unread,
   * with no data-quality note (a lab with no time or an implausible date is still noted).
   * Infinity: no lab is read, nor noted; undefined: every lab is. Pregnancy status is always
   * read.
   */
  readonly labsFrom?: (courses: readonly MedicationCourse[]) => number | undefined;
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

  // Medications first when they decide which labs are read; their notes still follow the labs'.
  const medicationNotes: DataQualityNote[] = [];
  const statements: MedicationStatementFact[] = [];
  for (const m of medStatements) {
    const s = readMedication(m, medications, maxTime, medicationNotes);
    if (s) statements.push(s);
  }
  const courses = mergeCourses(statements, thresholds);

  const labKinds =
    typeof options.labKinds === "function" ? options.labKinds(courses) : options.labKinds;
  const reader = new ObservationReader(
    thresholds,
    maxTime,
    labKinds,
    labKinds !== undefined && options.latestOfOtherKinds === true,
    options.labsFrom?.(courses),
  );
  for (const o of observations) reader.read(o);
  for (const o of anonymousObservations) reader.read(o);
  const { labs, labIds, pregnancy, notes, unread } = reader;
  if (unread !== undefined && unread.length > 0) {
    const latest = latestUsableLab(unread, thresholds, maxTime, nowMs);
    if (latest !== undefined) {
      labs.push(latest);
      labIds.push(latest.ref.slice("Observation/".length));
    }
  }
  sortByTimeThenRef(labs, labIds);

  const lnDiagnosis = readConditions(conditions, pregnancy);

  for (const note of medicationNotes) notes.push(note);

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
