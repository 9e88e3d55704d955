/**
 * The patient data every ln-cds service reads, as CDS Hooks 2.0 prefetch templates, and the
 * step from resolved prefetch to clinical facts.
 *
 * One template per resource type, so a well-behaved EHR fills each key with one search and the
 * service, when keys are missing, fetches them in parallel (src/hooks/prefetch.ts) with no
 * per-resource follow-up: labs are a single Observation search over every LOINC code the rules
 * read, newest first, with a page size that holds about five years of monthly results.
 */
import type { FhirResource, MedicationRequest, MedicationStatement } from "fhir/r4.js";
import { LAB_CODES, LOINC_SYSTEM, PREGNANCY_STATUS_LOINC } from "../../src/clinical/index.js";
import type { DataQualityNote, PatientFacts, Thresholds } from "../../src/clinical/index.js";
import {
  latestVersions,
  normalisePatient,
  type NormaliseOptions,
} from "../../src/fhir/normalise/index.js";
import { anyCodeOf } from "../../src/fhir/search.js";
import type { ResolvedPrefetch } from "../types.js";

/** Every LOINC code of docs/clinical-rules.md#1-facts (labs) and #8-ordering (pregnancy status). */
export const LAB_LOINC_CODES: readonly string[] = [...LAB_CODES.keys(), PREGNANCY_STATUS_LOINC];

/**
 * About 5 years × 12 months × the handful of labs drawn at a visit is ≈ 600 results: 1000 keeps
 * a typical chart on one page. Longer charts are paged (PREFETCH_MAX_PAGES / _RESOURCES).
 */
export const LAB_PAGE_SIZE = 1000;

const labsTemplate =
  "Observation?patient={{context.patientId}}" +
  `&code=${anyCodeOf(LOINC_SYSTEM, LAB_LOINC_CODES)}` +
  `&_sort=-date&_count=${LAB_PAGE_SIZE}`;

/** The five keys; services take the subset they need. */
export const PATIENT_DATA_PREFETCH = {
  patient: "Patient/{{context.patientId}}",
  conditions: "Condition?patient={{context.patientId}}",
  labs: labsTemplate,
  medicationStatements: "MedicationStatement?patient={{context.patientId}}",
  medicationRequests: "MedicationRequest?patient={{context.patientId}}",
} as const;

export type PatientDataKey = keyof typeof PATIENT_DATA_PREFETCH;

/** Every key: what the services that read diagnoses (eligibility, order check) need. */
export const ALL_PATIENT_DATA_KEYS = Object.keys(
  PATIENT_DATA_PREFETCH,
) as readonly PatientDataKey[];

export function prefetchOf(keys: readonly PatientDataKey[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, PATIENT_DATA_PREFETCH[k]]));
}

/**
 * Every resource of every key, minus those the caller excludes (e.g. the draft order). The same
 * resource can come through two keys or two pages (an EHR that sends one Bundle twice, a page
 * boundary that moved): it is kept once, in its latest version (a corrected result, a request
 * updated to stopped), at the place of its first copy.
 */
export function allResources(
  data: ResolvedPrefetch,
  exclude?: ReadonlySet<string>,
): FhirResource[] {
  return latestVersions(Object.values(data.resources), exclude);
}

/**
 * The resources of the two medication keys, one copy each (as allResources keeps them), for a
 * step that reads only statements and requests: walking every resource for them again touched
 * each lab of the chart once more (the labs are most of a chart).
 */
export function medicationResources(data: ResolvedPrefetch): FhirResource[] {
  return latestVersions([
    data.resources.medicationStatements ?? [],
    data.resources.medicationRequests ?? [],
  ]);
}

/** Data-quality notes about the prefetch itself: keys that could not be had or were cut short. */
export function prefetchNotes(data: ResolvedPrefetch): DataQualityNote[] {
  const notes: DataQualityNote[] = [];
  for (const key of data.unavailable) {
    notes.push({
      reason: "prefetch-unavailable",
      message: `"${key}" could not be read from the EHR or its FHIR server: judged without it`,
    });
  }
  for (const key of data.incomplete) {
    notes.push({
      reason: "prefetch-incomplete",
      message: `"${key}" had more pages than ln-cds reads: the oldest results may be missing`,
    });
  }
  for (const d of data.dropped ?? []) {
    const what = `${String(d.count)} ${d.resourceType}${d.count === 1 ? "" : "s"}`;
    // Never the other patient's ids: they do not belong on this chart.
    const why =
      d.reason === "other-patient"
        ? "belonging to another patient"
        : d.reason === "no-subject"
          ? "naming no patient"
          : `not of the type "${d.key}" asks for`;
    notes.push({
      reason: "not-this-patient",
      message: `"${d.key}": ${what} ${why} dropped, not used (only this patient's data is read)`,
    });
  }
  const unreadable = new Set(data.unreadableMedications ?? []);
  if (unreadable.size > 0) {
    for (const r of Object.values(data.resources).flat()) {
      if (r.resourceType !== "MedicationStatement" && r.resourceType !== "MedicationRequest")
        continue;
      const ref = `${r.resourceType}/${r.id ?? ""}`;
      if (!unreadable.delete(ref)) continue;
      notes.push({ reason: "medication-unreadable", ref, message: unreadableMessage(r) });
    }
  }
  return notes;
}

/** Which statement could not be read, in words a clinician can find it by (no resource ids). */
function unreadableMessage(r: MedicationStatement | MedicationRequest): string {
  const since =
    r.resourceType === "MedicationStatement"
      ? (r.effectivePeriod?.start ?? r.effectiveDateTime ?? r.dateAsserted)
      : r.authoredOn;
  const what = [
    r.status,
    since !== undefined ? `from ${since.slice(0, 10)}` : "",
    r.medicationReference?.display !== undefined ? `“${r.medicationReference.display}”` : "",
  ]
    .filter((x) => x !== "")
    .join(", ");
  const type =
    r.resourceType === "MedicationStatement" ? "medication statement" : "medication order";
  return `a ${type} (${what}) names a Medication that could not be read (not contained, not sent, not had from the FHIR server): its drug is unknown to these rules`;
}

export interface PatientData {
  readonly facts: PatientFacts;
  readonly resources: readonly FhirResource[];
  readonly prefetchNotes: readonly DataQualityNote[];
}

/** Which resources and labs a service reads (NormaliseOptions says what the lab options do). */
export interface PatientDataOptions extends Pick<
  NormaliseOptions,
  "labKinds" | "latestOfOtherKinds" | "labsFrom"
> {
  /** Resources left out, as `Type/id` (an order hook's draft). */
  readonly exclude?: ReadonlySet<string>;
}

/**
 * Normalises the resolved prefetch into the facts the clinical rules read; with `labKinds`, only
 * the labs of those kinds (a service whose rules read only these need not read the others), with
 * `latestOfOtherKinds` also the latest usable lab of the other kinds, and with `labsFrom` only
 * the labs from the instant it gives for the patient's medication courses.
 */
export function patientDataOf(
  input: {
    readonly data: ResolvedPrefetch;
    readonly now: Date;
    readonly context: { readonly patientId: string };
  },
  thresholds: Thresholds,
  options: PatientDataOptions = {},
): PatientData {
  const { exclude, labKinds, latestOfOtherKinds, labsFrom } = options;
  const resources = allResources(input.data, exclude);
  // The site's thresholds reach the normaliser too (course merge gap, docs/clinical-rules.md#2-medications).
  const facts = normalisePatient(resources, input.now, {
    thresholds,
    unique: true,
    patientId: input.context.patientId,
    ...(labKinds !== undefined ? { labKinds } : {}),
    ...(latestOfOtherKinds !== undefined ? { latestOfOtherKinds } : {}),
    ...(labsFrom !== undefined ? { labsFrom } : {}),
  });
  return { facts, resources, prefetchNotes: prefetchNotes(input.data) };
}
