/**
 * One copy of each resource: the latest version when an EHR or a paged read sends the same
 * resource twice (docs/clinical-rules.md#1-facts).
 */
import type { FhirResource } from "fhir/r4.js";
import { parseFhirTime } from "../time.js";

const NO_EXCLUSIONS: ReadonlySet<string> = new Set();

/**
 * One copy of each resource (same type and id), in its latest version (`isLaterVersion`), at the
 * place of its first copy; resources without an id are all kept; "Type/id" entries in `exclude`
 * are dropped. The same resource arrives twice when an EHR fills two prefetch keys with it, or
 * when a page boundary moves between two page reads (a result corrected, an order stopped).
 */
export function latestVersions(
  lists: readonly (readonly FhirResource[])[],
  exclude: ReadonlySet<string> = NO_EXCLUSIONS,
): FhirResource[] {
  const out: FhirResource[] = [];
  // Every id seen, whatever its type: one hash operation per resource (a set's size says whether
  // the id was new). An id seen again may be a second copy: only then is the position of each
  // resource in `out` by type and id looked up, from a table built at that first repeated id.
  // A look-up and an insertion per resource in such a table (and per type) were 8 % of a
  // request's normalisation; charts rarely repeat a resource. No "Type/id" string is built per
  // resource unless one is excluded.
  const ids = new Set<unknown>();
  let positions: Map<string, Map<unknown, number>> | undefined;
  for (const list of lists) {
    for (const r of list) {
      if (r.id !== undefined) {
        const count = ids.size;
        ids.add(r.id);
        if (ids.size === count) {
          positions ??= positionsOf(out);
          const at = positions.get(r.resourceType)?.get(r.id);
          if (at !== undefined) {
            if (isLaterVersion(r, out[at] as FhirResource)) out[at] = r;
            continue;
          }
        }
        if (exclude.size > 0 && exclude.has(`${r.resourceType}/${r.id}`)) continue;
        if (positions !== undefined) placeAt(positions, r, out.length);
      }
      out.push(r);
    }
  }
  return out;
}

/** Position of each resource with an id in `out`, by type and id. */
function positionsOf(out: readonly FhirResource[]): Map<string, Map<unknown, number>> {
  const positions = new Map<string, Map<unknown, number>>();
  out.forEach((r, i) => {
    if (r.id !== undefined) placeAt(positions, r, i);
  });
  return positions;
}

function placeAt(positions: Map<string, Map<unknown, number>>, r: FhirResource, at: number): void {
  let byId = positions.get(r.resourceType);
  if (byId === undefined) {
    byId = new Map();
    positions.set(r.resourceType, byId);
  }
  byId.set(r.id, at);
}

/**
 * Of two copies of one resource (same type and id), whether `a` is the later version:
 * meta.lastUpdated, then meta.versionId, then (Observations) corrected/amended over final.
 * Equal copies are not later than each other, so the first one seen is kept.
 */
function isLaterVersion(a: FhirResource, b: FhirResource): boolean {
  const ta = parseFhirTime(a.meta?.lastUpdated);
  const tb = parseFhirTime(b.meta?.lastUpdated);
  if (ta !== undefined && tb !== undefined && ta !== tb) return ta > tb;
  // A versionId that is not a string (a number, [1], true) is not compared: never coerced.
  const va = versionNumber(a.meta?.versionId);
  const vb = versionNumber(b.meta?.versionId);
  if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) return va > vb;
  if (a.resourceType !== "Observation" || b.resourceType !== "Observation") return false;
  const rank = (s: string) => (s === "corrected" || s === "amended" ? 2 : s === "final" ? 1 : 0);
  return rank(a.status) > rank(b.status);
}

function versionNumber(v: unknown): number {
  return typeof v === "string" && v !== "" ? Number(v) : Number.NaN;
}
