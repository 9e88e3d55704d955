/**
 * How ln-cds reads a FHIR server: the interface services and prefetch code depend on, so the
 * transport (fhir-kit-client, see fhir-kit-reader.ts) stays in one place.
 */
import type { Bundle, FhirResource } from "fhir/r4.js";

export interface SearchResult {
  /** Every resource of every page read, in server order (match and include entries alike). */
  readonly resources: FhirResource[];
  /** false when a page or resource limit stopped the paging before the last page. */
  readonly complete: boolean;
  /** Pages read, the first included. */
  readonly pages: number;
  /** The first page's `meta.lastUpdated`: the server's own time of the search, when it says. */
  readonly lastUpdated?: string;
}

export interface FhirReader {
  /** A search given relative to the base (`Observation?patient=1&code=...`); follows `next` links. */
  search(relativeUrl: string, signal: AbortSignal): Promise<SearchResult>;
  /** A read given relative to the base (`Patient/1`). Undefined when the server answers 404/410. */
  read(relativeUrl: string, signal: AbortSignal): Promise<FhirResource | undefined>;
  /**
   * Follows the `next` links of a Bundle that arrived in prefetch (a first page), on this server.
   * The Bundle's own entries come first.
   */
  continueBundle(first: Bundle, signal: AbortSignal): Promise<SearchResult>;
}

/** Paging limits: PREFETCH_MAX_PAGES and PREFETCH_MAX_RESOURCES. */
export interface PagingLimits {
  readonly maxPages: number;
  readonly maxResources: number;
}

/**
 * What makes a Bundle unreadable as a whole: an `entry` or `link` that is there but is not a
 * list (docs/clinical-rules.md#1-facts). Undefined when its shape can be read. Such a Bundle
 * is not taken for an empty one: its key counts as failed.
 */
export function bundleShapeProblem(bundle: Bundle): string | undefined {
  const { entry, link } = bundle as { entry?: unknown; link?: unknown };
  if (entry !== undefined && !Array.isArray(entry)) return "a Bundle whose entry is not a list";
  if (link !== undefined && !Array.isArray(link)) return "a Bundle whose link is not a list";
  return undefined;
}

/** A FHIR server's Bundle that cannot be read (bundleShapeProblem): the key's read failed. */
export class MalformedBundle extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = "MalformedBundle";
  }
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Entries' resources of a Bundle, skipping entries without one; an entry, or an entry's
 * resource, that is not an object with a string resourceType is no resource and is skipped.
 */
export function bundleResources(bundle: Bundle): FhirResource[] {
  const out: FhirResource[] = [];
  const entries: unknown = bundle.entry;
  if (!Array.isArray(entries)) return out;
  for (const entry of entries as unknown[]) {
    if (!isObject(entry)) continue;
    const resource = entry.resource;
    if (isObject(resource) && typeof resource.resourceType === "string")
      out.push(resource as unknown as FhirResource);
  }
  return out;
}

export function nextLink(bundle: Bundle): string | undefined {
  const links: unknown = bundle.link;
  if (!Array.isArray(links)) return undefined;
  for (const l of links as unknown[]) {
    if (isObject(l) && l.relation === "next") return typeof l.url === "string" ? l.url : undefined;
  }
  return undefined;
}

/** Collects pages: the first, then each `next` from `fetchPage`, within the limits. */
export async function collectPages(
  first: Bundle,
  fetchPage: (url: string) => Promise<Bundle>,
  limits: PagingLimits,
): Promise<SearchResult> {
  const firstProblem = bundleShapeProblem(first);
  if (firstProblem !== undefined) throw new MalformedBundle(firstProblem);
  const resources = bundleResources(first);
  const stamp =
    first.meta?.lastUpdated !== undefined ? { lastUpdated: first.meta.lastUpdated } : {};
  let pages = 1;
  let next = nextLink(first);
  while (next !== undefined) {
    if (pages >= limits.maxPages || resources.length >= limits.maxResources) {
      return {
        resources: resources.slice(0, limits.maxResources),
        complete: false,
        pages,
        ...stamp,
      };
    }
    const page = await fetchPage(next);
    const problem = bundleShapeProblem(page);
    if (problem !== undefined) throw new MalformedBundle(problem);
    pages += 1;
    resources.push(...bundleResources(page));
    next = nextLink(page);
  }
  if (resources.length > limits.maxResources) {
    return { resources: resources.slice(0, limits.maxResources), complete: false, pages, ...stamp };
  }
  return { resources, complete: true, pages, ...stamp };
}
