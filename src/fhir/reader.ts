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

/** Entries' resources of a Bundle, skipping entries without one. */
export function bundleResources(bundle: Bundle): FhirResource[] {
  const out: FhirResource[] = [];
  for (const entry of bundle.entry ?? []) {
    if (entry.resource !== undefined) out.push(entry.resource as FhirResource);
  }
  return out;
}

export function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === "next")?.url;
}

/** Collects pages: the first, then each `next` from `fetchPage`, within the limits. */
export async function collectPages(
  first: Bundle,
  fetchPage: (url: string) => Promise<Bundle>,
  limits: PagingLimits,
): Promise<SearchResult> {
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
    pages += 1;
    resources.push(...bundleResources(page));
    next = nextLink(page);
  }
  if (resources.length > limits.maxResources) {
    return { resources: resources.slice(0, limits.maxResources), complete: false, pages, ...stamp };
  }
  return { resources, complete: true, pages, ...stamp };
}
