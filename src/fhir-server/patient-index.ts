/**
 * A MemoryRepository that answers patient-scoped searches from a per-patient MemoryRepository.
 *
 * Why: Medplum's MemoryRepository.search evaluates every filter (FHIRPath) on every stored
 * resource of the type, so `Observation?patient=kang-04&code=…` scanned the Observations of all
 * 20 fixture patients on every page (profiled: 0.2–3 s a page). Medplum stays the search engine:
 * a search with `patient=Patient/<id>` (or `subject=`) runs Medplum's own search, with every filter,
 * sort, offset, count and total, on a repository holding only the resources that mention
 * `Patient/<id>` — a superset of what the reference filter can match, because Medplum matches a
 * reference only by exact string equality. Resources are added to both repositories in the same
 * order, so ties in `_sort` come out in the same order as an unindexed search.
 */
import {
  evalFhirPath,
  globalSchema,
  Operator,
  type Filter,
  type SearchRequest,
  type SortRule,
  type WithId,
} from "@medplum/core";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import { MemoryRepository } from "@medplum/fhir-router";

/** Only these reference parameters are routed: `_compartment` matches by suffix, not equality. */
const PATIENT_PARAMS = new Set(["patient", "subject"]);
const PATIENT_REF = /^Patient\/[^/]+$/;

/** Every `Patient/<id>` string anywhere in the resource (references, contained, extensions). */
function patientReferences(resource: unknown): Set<string> {
  const found = new Set<string>();
  const stack: unknown[] = [resource];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") {
      if (PATIENT_REF.test(value)) found.add(value);
    } else if (Array.isArray(value)) {
      stack.push(...(value as unknown[]));
    } else if (typeof value === "object" && value !== null) {
      stack.push(...(Object.values(value) as unknown[]));
    }
  }
  return found;
}

/** `a.localeCompare(b)` without locale or options compares as this default collator. */
const collator = new Intl.Collator();

/**
 * Stable sort by one rule, keyed as Medplum's MemoryRepository compares: the JSON of the sort
 * parameter's FHIRPath values, compared as locale strings, reversed when descending; a parameter
 * without an expression leaves the order unchanged.
 */
function sortedBy<E extends { resource?: Resource }>(
  entries: E[],
  rule: SortRule,
  cache: Map<string, string | undefined>,
): E[] {
  const keyed = entries.map((e) => {
    const resource = e.resource;
    const cacheKey = `${rule.code}|${resource?.id ?? ""}`;
    if (resource?.id !== undefined && cache.has(cacheKey)) return { e, key: cache.get(cacheKey) };
    const expression =
      resource === undefined
        ? undefined
        : globalSchema.types[resource.resourceType]?.searchParams?.[rule.code]?.expression;
    const key =
      resource === undefined || expression === undefined || expression === ""
        ? undefined
        : JSON.stringify(evalFhirPath(expression, resource));
    if (resource?.id !== undefined) cache.set(cacheKey, key);
    return { e, key };
  });
  const sign = rule.descending === true ? -1 : 1;
  keyed.sort((a, b) =>
    a.key === undefined || b.key === undefined ? 0 : collator.compare(a.key, b.key) * sign,
  );
  return keyed.map((k) => k.e);
}

export class PatientIndexedRepository extends MemoryRepository {
  /** resourceType → `Patient/<id>` → repository of that type's resources mentioning it. */
  private readonly byPatient = new Map<string, Map<string, MemoryRepository>>();
  /** resourceType → id → the patient references it was indexed under. */
  private readonly indexedUnder = new Map<string, Map<string, Set<string>>>();
  /** Types whose per-patient order may differ from the main one (a resource changed patient). */
  private readonly stale = new Set<string>();
  /**
   * `type|code|Patient/<id>` → repository of exactly the resources that Medplum's filter
   * `code=Patient/<id>` matches, built on first search by Medplum's own filter over the patient's
   * resources and dropped whenever one of them changes. Searches on it skip that filter, whose
   * FHIRPath (`Observation.subject.where(resolve() is Patient)`) was most of a page's time.
   */
  private readonly exact = new Map<string, MemoryRepository>();
  /** Sort keys (`code|id`) of an exact repository's resources, living and dying with it. */
  private readonly sortKeys = new WeakMap<MemoryRepository, Map<string, string | undefined>>();

  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const created = await super.createResource(resource);
    const { resourceType, id } = created;
    const refs = patientReferences(created);
    const ids = this.indexedUnder.get(resourceType) ?? new Map<string, Set<string>>();
    this.indexedUnder.set(resourceType, ids);
    const before = ids.get(id);
    ids.set(id, refs);
    this.forgetExact(resourceType, [...refs, ...(before ?? [])]);
    if (before !== undefined) {
      // An update: MemoryRepository keeps an id's first position, so a patient repository that
      // gains the id would place it last. Rebuild the type from the main order on next search.
      this.stale.add(resourceType);
      return created;
    }
    if (this.stale.has(resourceType)) return created;
    for (const ref of refs) await this.patientRepository(resourceType, ref).createResource(created);
    return created;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    await super.deleteResource(resourceType, id);
    const refs = this.indexedUnder.get(resourceType)?.get(id) ?? new Set<string>();
    this.forgetExact(resourceType, [...refs]);
    for (const ref of refs) {
      const repo = this.byPatient.get(resourceType)?.get(ref);
      if (repo !== undefined) await repo.deleteResource(resourceType, id).catch(() => undefined);
    }
    this.indexedUnder.get(resourceType)?.delete(id);
  }

  override async search<T extends Resource>(
    searchRequest: SearchRequest<T>,
  ): Promise<Bundle<WithId<T>>> {
    const filter = this.patientFilter(searchRequest);
    if (filter === undefined) return super.search(searchRequest);
    const { resourceType } = searchRequest;
    if (this.stale.has(resourceType)) await this.rebuild(resourceType);
    const repo = await this.exactRepository(resourceType, filter);
    searchRequest = {
      ...searchRequest,
      filters: searchRequest.filters?.filter((f) => f !== filter),
    };
    const { sortRules, offset, count } = searchRequest;
    if (sortRules === undefined || sortRules.length === 0) return repo.search(searchRequest);
    // Medplum's sort evaluates the sort parameter's FHIRPath twice per comparison (the `date`
    // expression is a union over ~30 resource types): most of a sorted page's time. Medplum
    // filters and counts; the sort here computes each resource's key once, with the same key
    // and order as Medplum's comparator, and pages after sorting as Medplum does.
    const all = await repo.search({
      ...searchRequest,
      sortRules: undefined,
      offset: undefined,
      count: undefined,
    });
    let entry = all.entry ?? [];
    const keys = this.sortKeys.get(repo) ?? new Map<string, string | undefined>();
    this.sortKeys.set(repo, keys);
    for (const rule of sortRules) entry = sortedBy(entry, rule, keys);
    if (offset !== undefined) entry = entry.slice(offset);
    if (count !== undefined) entry = entry.slice(0, count);
    return { ...all, entry: entry.length > 0 ? entry : undefined };
  }

  /** The first equality patient/subject filter on a single `Patient/<id>`, if there is one. */
  private patientFilter(searchRequest: SearchRequest): Filter | undefined {
    const params = globalSchema.types[searchRequest.resourceType]?.searchParams;
    for (const filter of searchRequest.filters ?? []) {
      if (filter.operator !== Operator.EQUALS || !PATIENT_PARAMS.has(filter.code)) continue;
      if (params?.[filter.code]?.type !== "reference") continue;
      if (PATIENT_REF.test(filter.value)) return filter;
    }
    return undefined;
  }

  private async exactRepository(resourceType: string, filter: Filter): Promise<MemoryRepository> {
    const key = `${resourceType}|${filter.code}|${filter.value}`;
    let repo = this.exact.get(key);
    if (repo !== undefined) return repo;
    repo = new MemoryRepository();
    // No resource mentions the patient: an empty repository answers exactly as Medplum would.
    const candidates = this.byPatient.get(resourceType)?.get(filter.value);
    const matches = await candidates?.search({ resourceType, filters: [filter] } as SearchRequest);
    // Same relative order as the main repository; ids, versions and lastUpdated kept.
    for (const e of matches?.entry ?? []) if (e.resource) await repo.createResource(e.resource);
    this.exact.set(key, repo);
    return repo;
  }

  private forgetExact(resourceType: string, refs: readonly string[]): void {
    for (const ref of refs) {
      for (const code of PATIENT_PARAMS) this.exact.delete(`${resourceType}|${code}|${ref}`);
    }
  }

  private patientRepository(resourceType: string, ref: string): MemoryRepository {
    const repos = this.byPatient.get(resourceType) ?? new Map<string, MemoryRepository>();
    this.byPatient.set(resourceType, repos);
    let repo = repos.get(ref);
    if (repo === undefined) {
      repo = new MemoryRepository();
      repos.set(ref, repo);
    }
    return repo;
  }

  private async rebuild(resourceType: string): Promise<void> {
    this.stale.delete(resourceType);
    this.byPatient.delete(resourceType);
    for (const key of [...this.exact.keys()]) {
      if (key.startsWith(`${resourceType}|`)) this.exact.delete(key);
    }
    const all = await super.search({ resourceType } as SearchRequest);
    for (const entry of all.entry ?? []) {
      const resource = entry.resource;
      if (resource === undefined) continue;
      for (const ref of patientReferences(resource)) {
        await this.patientRepository(resourceType, ref).createResource(resource);
      }
    }
  }
}
