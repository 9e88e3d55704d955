/**
 * Prefetch templates and their resolution (CDS Hooks 2.0, https://cds-hooks.hl7.org/2.0/#prefetch;
 * docs/cds-contract.md#requests-and-errors).
 *
 * Each key of a service's prefetch arrives in one of four states:
 * - present: used as is (a Bundle's `next` pages are followed when the FHIR server is reachable);
 * - `null`: the client knows there is no data;
 * - an OperationOutcome: the client's fetch failed, so we fetch it ourselves;
 * - absent: we fetch it ourselves.
 * Fetches go to `fhirServer` with `fhirAuthorization.access_token` (none when absent), all keys
 * in parallel within PREFETCH_BUDGET_MS, and only when `fhirServer`'s origin is on
 * FHIR_SERVER_ALLOWLIST; any other server counts as unreachable and is never contacted.
 * A required key that cannot be had → 412 naming the key.
 */
import type { Bundle, FhirResource, MedicationRequest, MedicationStatement } from "fhir/r4.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { isAllowedOrigin } from "../fhir/allowlist.js";
import { createFhirKitReader, type FhirKitReaderOptions } from "../fhir/fhir-kit-reader.js";
import { scopeToPatient, templateType, type DroppedResources } from "../fhir/patient-scope.js";
import {
  bundleResources,
  bundleShapeProblem,
  type FhirReader,
  MalformedBundle,
  nextLink,
} from "../fhir/reader.js";
import { preconditionFailed } from "../outcomes.js";
import type { ResolvedPrefetch } from "../../cds-services/types.js";

// ---------------------------------------------------------------- templates

/** The only tokens CDS Hooks 2.0 defines for prefetch templates. */
export const PREFETCH_TOKENS = [
  "context.patientId",
  "context.encounterId",
  "context.userId",
  "userPractitionerId",
  "userPractitionerRoleId",
  "userPatientId",
  "userRelatedPersonId",
] as const;
export type PrefetchToken = (typeof PREFETCH_TOKENS)[number];

const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Every `{{token}}` of a template, in order. */
export function templateTokens(template: string): string[] {
  return [...template.matchAll(TOKEN)].map((m) => m[1] ?? "");
}

/** Tokens of a template that CDS Hooks 2.0 does not define (a programming error in a service). */
export function unknownTokens(template: string): string[] {
  return templateTokens(template).filter(
    (t) => !(PREFETCH_TOKENS as readonly string[]).includes(t),
  );
}

export interface TemplateContext {
  readonly patientId?: string;
  readonly encounterId?: string;
  readonly userId?: string;
}

/** Token values from the hook context; `user*Id` tokens come from `userId`'s resource type. */
export function tokenValues(context: TemplateContext): Partial<Record<PrefetchToken, string>> {
  const values: Partial<Record<PrefetchToken, string>> = {};
  if (context.patientId !== undefined) values["context.patientId"] = context.patientId;
  if (context.encounterId !== undefined) values["context.encounterId"] = context.encounterId;
  if (context.userId !== undefined) {
    values["context.userId"] = context.userId;
    const [type, id] = context.userId.split("/");
    if (id !== undefined && id !== "") {
      if (type === "Practitioner") values.userPractitionerId = id;
      if (type === "PractitionerRole") values.userPractitionerRoleId = id;
      if (type === "Patient") values.userPatientId = id;
      if (type === "RelatedPerson") values.userRelatedPersonId = id;
    }
  }
  return values;
}

/**
 * Fills a template. Values are URL-encoded. Undefined when a token has no value in this request
 * (e.g. `{{context.encounterId}}` without an encounter), or one that would change the URL's path,
 * so the key cannot be fetched.
 */
export function fillTemplate(
  template: string,
  values: Partial<Record<PrefetchToken, string>>,
): string | undefined {
  // "." and ".." survive encoding (and "%2E" is decoded back): as a path segment they would turn
  // `Patient/{{context.patientId}}` into the server base or every Patient. Such a value has no URL.
  const usable = (t: string): boolean => {
    const v = values[t as PrefetchToken];
    return v !== undefined && !/^\.{1,2}$/.test(v);
  };
  if (!templateTokens(template).every(usable)) return undefined;
  return template.replace(TOKEN, (_, token: string) =>
    encodeURIComponent(values[token as PrefetchToken] ?? ""),
  );
}

/** `Patient/123` is a read; anything with a query or without an id is a search. */
export function isReadTemplate(relativeUrl: string): boolean {
  return /^[A-Z][A-Za-z]+\/[^/?]+$/.test(relativeUrl);
}

// ---------------------------------------------------------------- resolution

type KeyState =
  | { readonly kind: "present"; readonly value: FhirResource }
  | { readonly kind: "none" }
  | { readonly kind: "failed" }
  | { readonly kind: "absent" };

function isResource(value: unknown): value is FhirResource {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === "string"
  );
}

/** The state of one key as the client sent it. Anything that is not a resource counts as failed. */
export function keyState(
  prefetch: Readonly<Record<string, unknown>> | undefined,
  key: string,
): KeyState {
  if (prefetch === undefined || !Object.hasOwn(prefetch, key)) return { kind: "absent" };
  const value = prefetch[key];
  if (value === undefined) return { kind: "absent" };
  if (value === null) return { kind: "none" };
  if (!isResource(value) || value.resourceType === "OperationOutcome") return { kind: "failed" };
  // A Bundle whose entry (or link) is not a list is not an empty Bundle: it cannot be read.
  if (value.resourceType === "Bundle" && bundleShapeProblem(value) !== undefined)
    return { kind: "failed" };
  return { kind: "present", value };
}

export interface PrefetchRequest {
  readonly fhirServer?: string;
  readonly accessToken?: string;
  readonly prefetch?: Readonly<Record<string, unknown>>;
  readonly context: TemplateContext;
}

export interface PrefetchNeeds {
  readonly serviceId: string;
  readonly prefetch: Readonly<Record<string, string>>;
  readonly requiredPrefetch: readonly string[];
}

export type ReaderFactory = (options: FhirKitReaderOptions) => FhirReader;

export interface ResolveOptions {
  readonly config: Pick<
    Config,
    | "FHIR_SERVER_ALLOWLIST"
    | "FHIR_TIMEOUT_MS"
    | "FHIR_MAX_RESPONSE_BYTES"
    | "PREFETCH_BUDGET_MS"
    | "PREFETCH_MAX_PAGES"
    | "PREFETCH_MAX_RESOURCES"
  >;
  readonly logger: Logger;
  /**
   * The incoming request's signal (aborted when the request is abandoned), asked for only when
   * something is fetched: the route makes it on demand.
   */
  readonly signalOf?: () => AbortSignal | undefined;
  readonly readerFactory?: ReaderFactory;
}

type KeyResult =
  | { readonly ok: true; readonly resources: FhirResource[]; readonly complete: boolean }
  | { readonly ok: false; readonly reason: string };

class BudgetExceeded extends Error {
  constructor() {
    super("prefetch time budget exceeded");
  }
}

/** Rejects when the signal aborts, so a read that ignores its signal cannot outlive the budget. */
function withinBudget<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new BudgetExceeded());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new BudgetExceeded());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** A short reason without URLs or ids (they could carry patient data). */
function reasonOf(error: unknown): string {
  if (error instanceof BudgetExceeded) return "the prefetch time budget ran out";
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  if (typeof status === "number") return `the FHIR server answered HTTP ${status}`;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "OutboundTimeout" || name === "TimeoutError" || name === "AbortError")
    return "the FHIR server did not answer in time";
  if (name === "OutboundRefused") return "the FHIR request was refused by the outbound policy";
  if (error instanceof MalformedBundle) return `the FHIR server sent ${error.message}`;
  return "the FHIR server could not be reached";
}

/**
 * Resolves a service's prefetch for one request. Throws a 412 OperationOutcomeError naming the
 * first required key that cannot be had.
 */
export async function resolvePrefetch(
  needs: PrefetchNeeds,
  request: PrefetchRequest,
  options: ResolveOptions,
): Promise<ResolvedPrefetch> {
  const { config } = options;
  const reachable =
    request.fhirServer !== undefined &&
    isAllowedOrigin(request.fhirServer, config.FHIR_SERVER_ALLOWLIST);
  // The budget starts with the first fetch: a request whose prefetch is complete fetches
  // nothing, and creating the signals (and the budget's timer) for it showed in profiles.
  let budgetSignal: AbortSignal | undefined;
  const signalFor = (): AbortSignal => {
    if (budgetSignal === undefined) {
      const budget = AbortSignal.timeout(config.PREFETCH_BUDGET_MS);
      const outer = options.signalOf?.();
      budgetSignal = outer ? AbortSignal.any([outer, budget]) : budget;
    }
    return budgetSignal;
  };
  let reader: FhirReader | undefined;
  const readerFor = (): FhirReader => {
    if (reader === undefined) {
      const factory = options.readerFactory ?? createFhirKitReader;
      reader = factory({
        baseUrl: request.fhirServer ?? "",
        ...(request.accessToken !== undefined ? { accessToken: request.accessToken } : {}),
        timeoutMs: config.FHIR_TIMEOUT_MS,
        maxResponseBytes: config.FHIR_MAX_RESPONSE_BYTES,
        paging: {
          maxPages: config.PREFETCH_MAX_PAGES,
          maxResources: config.PREFETCH_MAX_RESOURCES,
        },
      });
    }
    return reader;
  };
  const values = tokenValues(request.context);
  const unreachableReason =
    request.fhirServer === undefined
      ? "no fhirServer was given"
      : "the fhirServer is not on the FHIR server allow-list";

  const patientId = request.context.patientId;
  // Per key, so the notes come in the keys' order whatever order the fetches end in.
  const droppedByKey = new Map<string, DroppedResources[]>();

  /** A key's resources, checked against the hook's patient (see src/fhir/patient-scope.ts). */
  const scoped = (
    key: string,
    template: string,
    result: KeyResult,
    source: "prefetch" | "read" | "search",
  ): KeyResult => {
    if (!result.ok || patientId === undefined) return result;
    const scope = scopeToPatient(key, result.resources, templateType(template), patientId);
    const seen = scope.seen;
    // Only another patient's data, or only the wrong type: the key is as good as failed. A
    // search answered by the FHIR server with none of this patient's resources of the right type
    // (a server that ignores `patient=`) leaves nothing for this patient instead.
    const failed = seen && (source === "search" ? scope.ofType === 0 : scope.keptOfType === 0);
    if (scope.dropped.length > 0)
      droppedByKey.set(key, [...(droppedByKey.get(key) ?? []), ...scope.dropped]);
    if (failed) {
      return {
        ok: false,
        reason:
          scope.ofType === 0
            ? `it held no ${templateType(template)} resource`
            : "it held only another patient's data",
      };
    }
    return { ok: true, resources: scope.kept, complete: result.complete };
  };

  const fetchKey = async (key: string, template: string): Promise<KeyResult> => {
    if (!reachable) return { ok: false, reason: `it was not sent and ${unreachableReason}` };
    const url = fillTemplate(template, values);
    if (url === undefined)
      return { ok: false, reason: "its template needs a context value this request lacks" };
    try {
      const signal = signalFor();
      if (isReadTemplate(url)) {
        const resource = await withinBudget(readerFor().read(url, signal), signal);
        const result = {
          ok: true,
          resources: resource === undefined ? [] : [resource],
          complete: true,
        } as const;
        return scoped(key, template, result, "read");
      }
      const result = await withinBudget(readerFor().search(url, signal), signal);
      return scoped(
        key,
        template,
        { ok: true, resources: result.resources, complete: result.complete },
        "search",
      );
    } catch (error) {
      return { ok: false, reason: reasonOf(error) };
    }
  };

  /** The resources a key was sent with, when they are had without reading further pages. */
  const sentNow = (value: FhirResource): KeyResult | undefined => {
    if (value.resourceType !== "Bundle") return { ok: true, resources: [value], complete: true };
    const bundle = value as Bundle;
    if (nextLink(bundle) === undefined)
      return { ok: true, resources: bundleResources(bundle), complete: true };
    // A paginated Bundle: follow `next` when we may, else use the first page and say it is partial.
    if (!reachable) return { ok: true, resources: bundleResources(bundle), complete: false };
    return undefined;
  };

  const nextPages = async (bundle: Bundle): Promise<KeyResult> => {
    try {
      const signal = signalFor();
      const result = await withinBudget(readerFor().continueBundle(bundle, signal), signal);
      return { ok: true, resources: result.resources, complete: result.complete };
    } catch (error) {
      return { ok: false, reason: `its next pages could not be read: ${reasonOf(error)}` };
    }
  };

  /** A sent key's resources checked; another patient's data (or the wrong type) is fetched. */
  const checkSent = (
    key: string,
    template: string,
    sent: KeyResult,
  ): KeyResult | Promise<KeyResult> => {
    if (!sent.ok) return sent;
    const checked = scoped(key, template, sent, "prefetch");
    if (checked.ok) return checked;
    // The EHR sent another patient's data (or the wrong type) for this key: fetch it ourselves.
    return fetchKey(key, template).then((fetched) =>
      fetched.ok ? fetched : { ok: false, reason: `${checked.reason}; ${fetched.reason}` },
    );
  };

  /**
   * A key's result: at once for a key sent complete (no promise, no microtask: with a full
   * prefetch every key is such), else once what must be read is read.
   */
  const resolveKey = (key: string, template: string): KeyResult | Promise<KeyResult> => {
    const state = keyState(request.prefetch, key);
    if (state.kind === "none") return { ok: true, resources: [], complete: true };
    if (state.kind === "present") {
      const sent = sentNow(state.value);
      if (sent !== undefined) return checkSent(key, template, sent);
      return nextPages(state.value as Bundle).then((paged) => checkSent(key, template, paged));
    }
    return fetchKey(key, template);
  };

  const started = Date.now();
  const keys = Object.entries(needs.prefetch);
  // Every key is started before any is awaited, so the reads run in parallel.
  const pending = keys.map(([key, template]) => resolveKey(key, template));
  const settled = pending.some((r) => r instanceof Promise)
    ? await Promise.all(pending.map(async (r) => r))
    : pending;
  const results = keys.map(([key], i) => [key, settled[i] as KeyResult] as const);

  const resources: Record<string, FhirResource[]> = {};
  const unavailable: string[] = [];
  const incomplete: string[] = [];
  for (const [key, result] of results) {
    if (result.ok) {
      resources[key] = result.resources;
      if (!result.complete) incomplete.push(key);
      continue;
    }
    if (needs.requiredPrefetch.includes(key)) {
      options.logger.warn(
        {
          serviceId: needs.serviceId,
          prefetchKey: key,
          reason: result.reason,
          durationMs: Date.now() - started,
        },
        "required prefetch unavailable",
      );
      throw preconditionFailed(
        `required prefetch "${key}" could not be had: ${result.reason}`,
        key,
      );
    }
    resources[key] = [];
    unavailable.push(key);
  }
  const dropped =
    droppedByKey.size === 0 ? [] : keys.flatMap(([key]) => droppedByKey.get(key) ?? []);
  const missing = readMissingMedications(resources, {
    fhirServer: reachable ? request.fhirServer : undefined,
    read: (url) => {
      const signal = signalFor();
      return withinBudget(readerFor().read(url, signal), signal);
    },
  });
  const unreadableMedications = Array.isArray(missing) ? missing : await missing;
  options.logger.debug(
    {
      serviceId: needs.serviceId,
      keys: keys.length,
      unavailable: unavailable.length,
      incomplete: incomplete.length,
      durationMs: Date.now() - started,
    },
    "prefetch resolved",
  );
  return {
    resources,
    unavailable,
    incomplete,
    ...(dropped.length > 0 ? { dropped } : {}),
    ...(unreadableMedications.length > 0 ? { unreadableMedications } : {}),
  };
}

// ---------------------------------------------------------------- referenced Medications

/** Most Medications read for one request, and how many at once (docs/clinical-rules.md#2-medications). */
export const MEDICATION_READS_MAX = 50;
const MEDICATION_READS_IN_FLIGHT = 8;

const MEDICATION_REFERENCE = /^(.*?)\/?Medication\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

interface MedicationIo {
  /** The allow-listed FHIR server, or undefined when none may be called. */
  readonly fhirServer: string | undefined;
  read(relativeUrl: string): Promise<FhirResource | undefined>;
}

/**
 * Reads each Medication that a statement or request names by `medicationReference` and that is
 * neither contained in it nor among the resources, from the request's FHIR server: one read per
 * distinct Medication, at most MEDICATION_READS_MAX, a few at a time, within the prefetch budget.
 * Each one read joins the key of its first statement. Returns the statements whose Medication
 * could not be had, so the cards can say so rather than skip them: at once (no promise) when
 * nothing is to be read, as with a chart whose medications are all coded or included.
 */
export function readMissingMedications(
  resources: Record<string, FhirResource[]>,
  io: MedicationIo,
): string[] | Promise<string[]> {
  // One pass over every resource: the Medications had, and the statements and requests.
  const known = new Set<string>();
  const records: (readonly [string, MedicationStatement | MedicationRequest])[] = [];
  for (const [key, list] of Object.entries(resources)) {
    for (const r of list) {
      if (r.resourceType === "Medication") {
        if (r.id) known.add(r.id);
      } else if (r.resourceType === "MedicationStatement" || r.resourceType === "MedicationRequest")
        records.push([key, r]);
    }
  }
  const base = io.fhirServer?.replace(/\/+$/, "");
  const wanted = new Map<string, { key: string; statements: string[] }>();
  const unreadable: string[] = [];
  for (const [key, r] of records) {
    const reference: unknown = r.medicationReference?.reference;
    if (reference === undefined || r.medicationCodeableConcept !== undefined) continue;
    const ref = `${r.resourceType}/${r.id ?? ""}`;
    // A reference that is not a string (a number, null) names no Medication: unreadable.
    if (typeof reference !== "string") {
      unreadable.push(ref);
      continue;
    }
    if (reference.startsWith("#")) {
      const id = reference.slice(1);
      const contained: unknown = r.contained;
      const found =
        Array.isArray(contained) &&
        contained.some(
          (c: unknown) =>
            typeof c === "object" &&
            c !== null &&
            (c as { resourceType?: unknown }).resourceType === "Medication" &&
            (c as { id?: unknown }).id === id,
        );
      if (!found) unreadable.push(ref);
      continue;
    }
    const m = MEDICATION_REFERENCE.exec(reference);
    const id = m?.[2];
    const prefix = m?.[1] ?? "";
    // Only the request's own FHIR server is ever called: an absolute reference elsewhere is
    // not followed.
    const here = prefix === "" || (base !== undefined && prefix === base);
    if (id === undefined || !here) {
      unreadable.push(ref);
      continue;
    }
    if (known.has(id)) continue;
    const entry = wanted.get(id);
    if (entry) entry.statements.push(ref);
    else wanted.set(id, { key, statements: [ref] });
  }
  const queue = [...wanted.entries()];
  for (const [, { statements }] of queue.splice(MEDICATION_READS_MAX))
    unreadable.push(...statements);
  if (io.fhirServer === undefined) {
    for (const [, { statements }] of queue) unreadable.push(...statements);
    return unreadable;
  }
  if (queue.length === 0) return unreadable;
  return readQueued(queue, resources, io, unreadable);
}

/** Reads the queued Medications, a few at a time; each one had joins its statement's key. */
async function readQueued(
  queue: [string, { key: string; statements: string[] }][],
  resources: Record<string, FhirResource[]>,
  io: MedicationIo,
  unreadable: string[],
): Promise<string[]> {
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [id, { key, statements }] = next;
      let medication: FhirResource | undefined;
      try {
        medication = await io.read(`Medication/${encodeURIComponent(id)}`);
      } catch {
        medication = undefined;
      }
      if (medication?.resourceType === "Medication" && medication.id === id)
        (resources[key] ??= []).push(medication);
      else unreadable.push(...statements);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(MEDICATION_READS_IN_FLIGHT, queue.length) }, worker),
  );
  return unreadable;
}

/** Resources of one key narrowed to a resource type, for services. */
export function resourcesOf<T extends FhirResource["resourceType"]>(
  data: ResolvedPrefetch,
  key: string,
  type: T,
): Extract<FhirResource, { resourceType: T }>[] {
  return (data.resources[key] ?? []).filter(
    (r): r is Extract<FhirResource, { resourceType: T }> => r.resourceType === type,
  );
}
