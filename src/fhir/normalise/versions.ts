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
  return byIdTable(lists, exclude) ?? bySeenIds(lists, exclude);
}

/** Probes of one look-up in byIdTable's table beyond which it gives up (see there). */
const MAX_PROBES = 16;

/**
 * latestVersions when every id is a string, with a table of its own: a slot per resource kept,
 * found from a hash of the id's length and its last eight characters (ids of one chart differ at
 * their end: a sequence number, a UUID's last group), probed in order, each candidate compared
 * by id and type. A JavaScript Set of the ids hashed every character of each request's fresh id
 * strings and was about half of the time of this step. Undefined, for latestVersions to do the
 * work with a Set, when an id or type is not a string (a broken EHR's) or a look-up probes more
 * than MAX_PROBES slots (ids that end alike, by chance or by design): the table never costs more
 * than a few comparisons per resource.
 */
function byIdTable(
  lists: readonly (readonly FhirResource[])[],
  exclude: ReadonlySet<string>,
): FhirResource[] | undefined {
  let total = 0;
  for (const list of lists) total += list.length;
  // At most half full; a slot holds a position in `out` plus one (0: empty).
  let size = 32;
  while (size < 2 * total) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size);
  const out: FhirResource[] = [];
  for (const list of lists) {
    for (const r of list) {
      const id: unknown = r.id;
      if (id !== undefined) {
        if (typeof id !== "string" || typeof r.resourceType !== "string") return undefined;
        const n = id.length;
        let h = n;
        for (let i = n > 8 ? n - 8 : 0; i < n; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
        let slot = (h ^ (h >>> 15)) & mask;
        let probes = 0;
        let at = slots[slot] as number;
        while (at !== 0) {
          const seen = out[at - 1] as FhirResource;
          if (seen.id === id && seen.resourceType === r.resourceType) break;
          if (++probes > MAX_PROBES) return undefined;
          slot = (slot + 1) & mask;
          at = slots[slot] as number;
        }
        if (at !== 0) {
          if (isLaterVersion(r, out[at - 1] as FhirResource)) out[at - 1] = r;
          continue;
        }
        if (exclude.size > 0 && exclude.has(`${r.resourceType}/${id}`)) continue;
        slots[slot] = out.length + 1;
      }
      out.push(r);
    }
  }
  return out;
}

/** latestVersions for any ids, with a Set of the ids seen. */
function bySeenIds(
  lists: readonly (readonly FhirResource[])[],
  exclude: ReadonlySet<string>,
): FhirResource[] {
  const out: FhirResource[] = [];
  // Every id seen, whatever its type: one hash operation per resource (a set's size says whether
  // the id was new). An id seen again may be a second copy: only then is the position of each
  // resource in `out` by type and id looked up, from a table built at that first repeated id.
  // No "Type/id" string is built per resource unless one is excluded.
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
