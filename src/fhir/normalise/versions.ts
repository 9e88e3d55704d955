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
  // Position in `out` per resource type and id: no "Type/id" string is built per resource
  // unless one is excluded.
  const seen = new Map<string, Map<string, number>>();
  for (const list of lists) {
    for (const r of list) {
      if (r.id !== undefined) {
        let ids = seen.get(r.resourceType);
        if (ids === undefined) {
          ids = new Map();
          seen.set(r.resourceType, ids);
        }
        const at = ids.get(r.id);
        if (at !== undefined) {
          if (isLaterVersion(r, out[at] as FhirResource)) out[at] = r;
          continue;
        }
        if (exclude.size > 0 && exclude.has(`${r.resourceType}/${r.id}`)) continue;
        ids.set(r.id, out.length);
      }
      out.push(r);
    }
  }
  return out;
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
  const va = Number(a.meta?.versionId);
  const vb = Number(b.meta?.versionId);
  if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) return va > vb;
  if (a.resourceType !== "Observation" || b.resourceType !== "Observation") return false;
  const rank = (s: string) => (s === "corrected" || s === "amended" ? 2 : s === "final" ? 1 : 0);
  return rank(a.status) > rank(b.status);
}
