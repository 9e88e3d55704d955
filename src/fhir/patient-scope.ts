/**
 * Whose data (docs/cds-contract.md#whose-data, docs/clinical-rules.md#2-medications): every
 * resource a rule reads must belong to the hook's patient. Pure: no I/O.
 *
 * A resource belongs to patient `id` when it is that Patient, or when its `subject` (else its
 * `patient`) reference is `Patient/{id}`, relative or absolute (`https://…/Patient/{id}`, with or
 * without `/_history/{v}`). A resource of another patient, or one with no such reference, is
 * dropped. A Medication belongs to no patient and is kept: statements point at it.
 */
import type { FhirResource } from "fhir/r4.js";

/** Why a resource was not kept for the patient. */
export type DropReason = "other-patient" | "no-subject" | "wrong-type";

export interface DroppedResources {
  /** The prefetch key the resources came through. */
  readonly key: string;
  readonly resourceType: string;
  readonly reason: DropReason;
  readonly count: number;
}

export interface ScopedResources {
  readonly kept: FhirResource[];
  /** Kept resources of the key's own type (a key holding none of them may count as failed). */
  readonly keptOfType: number;
  /** Resources of the key's own type, whoever's they are. */
  readonly ofType: number;
  readonly dropped: DroppedResources[];
  /** Whether the list held any resource other than an OperationOutcome. */
  readonly seen: boolean;
}

/** A FHIR id: what PATIENT_REFERENCE reads after "Patient/". */
const ID_CHARACTERS = "[A-Za-z0-9\\-.]{1,64}";
const PATIENT_REFERENCE = new RegExp(
  `(?:^|\\/)Patient\\/(${ID_CHARACTERS})(?:\\/_history\\/[^/]+)?$`,
);
const FHIR_ID = new RegExp(`^${ID_CHARACTERS}$`);

/** The Patient id a reference names (`Patient/x`, `https://host/fhir/Patient/x/_history/2`). */
export function patientIdOf(reference: string | undefined): string | undefined {
  if (reference === undefined) return undefined;
  return PATIENT_REFERENCE.exec(reference)?.[1];
}

/** Resource types that belong to no patient and may come with any key (e.g. `_include`d). */
const SHARED_TYPES: ReadonlySet<string> = new Set(["Medication"]);

/** The reference of a resource's `subject`, else of its `patient`. */
function subjectReference(resource: FhirResource): unknown {
  const r = resource as { subject?: { reference?: unknown }; patient?: { reference?: unknown } };
  return r.subject?.reference ?? r.patient?.reference;
}

/** The patient a resource names: its own id for a Patient, else its subject's (or patient's). */
function ownerOf(resource: FhirResource): string | undefined {
  if (resource.resourceType === "Patient") return resource.id;
  const ref = subjectReference(resource);
  return typeof ref === "string" ? patientIdOf(ref) : undefined;
}

/** Whether a resource is about patient `patientId` (Patients and patient-compartment resources). */
export function belongsToPatient(resource: FhirResource, patientId: string): boolean {
  return ownerOf(resource) === patientId;
}

/**
 * Keeps the resources of one prefetch key that belong to `patientId`: those of the key's own
 * type (`expectedType`, from its template) about this patient, and shared resources (Medication).
 * OperationOutcome entries (a search's warnings) are neither kept nor counted. When every resource
 * is kept (nearly always), `kept` is the given list itself, not a copy: the caller owns it.
 */
export function scopeToPatient(
  key: string,
  resources: FhirResource[],
  expectedType: string,
  patientId: string,
): ScopedResources {
  // Copied (the resources before the first one left out) only when one is left out: a copy of
  // every key's list, hundreds of labs, showed in profiles.
  let kept: FhirResource[] | undefined;
  let keptOfType = 0;
  let ofType = 0;
  let counts: Map<string, DroppedResources> | undefined;
  let outcomes = 0;
  const drop = (resourceType: string, reason: DropReason): void => {
    counts ??= new Map();
    const id = `${resourceType} ${reason}`;
    const prev = counts.get(id);
    counts.set(id, { key, resourceType, reason, count: (prev?.count ?? 0) + 1 });
  };
  // Most resources name the patient as `Patient/{patientId}` exactly; for those the reference
  // pattern's answer is known once, so it is not run per resource.
  // (`Patient/{patientId}` names patientId exactly when patientId is a FHIR id: the reference
  // pattern then reads it whole. The anchored test is the cheaper of the two.)
  const direct = `Patient/${patientId}`;
  const directNamesPatient = FHIR_ID.test(patientId);
  // A key's own type is checked first: for nearly every resource it is the only check, and the
  // set look-up below hashes each request's fresh type string (it showed in profiles).
  const ownTypeIsPlain = expectedType !== "OperationOutcome" && !SHARED_TYPES.has(expectedType);
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as FhirResource;
    if (!ownTypeIsPlain || r.resourceType !== expectedType) {
      if (r.resourceType === "OperationOutcome") {
        kept ??= resources.slice(0, i);
        outcomes += 1;
        continue;
      }
      if (SHARED_TYPES.has(r.resourceType)) {
        kept?.push(r);
        continue;
      }
      if (r.resourceType !== expectedType) {
        kept ??= resources.slice(0, i);
        drop(r.resourceType, "wrong-type");
        continue;
      }
    }
    ofType += 1;
    const owner =
      directNamesPatient && r.resourceType !== "Patient" && subjectReference(r) === direct
        ? patientId
        : ownerOf(r);
    if (owner === patientId) {
      kept?.push(r);
      keptOfType += 1;
    } else {
      kept ??= resources.slice(0, i);
      drop(r.resourceType, owner === undefined ? "no-subject" : "other-patient");
    }
  }
  return {
    kept: kept ?? resources,
    keptOfType,
    ofType,
    dropped: counts === undefined ? [] : [...counts.values()],
    seen: resources.length > outcomes,
  };
}

/** The resource type a prefetch template asks for: `Observation?…` → Observation. */
export function templateType(template: string): string {
  return /^[A-Z][A-Za-z]+/.exec(template)?.[0] ?? "";
}
