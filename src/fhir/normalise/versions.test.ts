import type { FhirResource } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { latestVersions } from "./versions.js";
import { seeded } from "../../../test/support/seeded.js";

/**
 * The rule as stated (docs/clinical-rules.md#1-facts), written plainly: one copy per type and id,
 * the later version (lastUpdated, then versionId, then corrected/amended over final) at the
 * place of the first copy; resources without an id all kept; excluded "Type/id" dropped.
 */
function plainLatestVersions(
  lists: readonly (readonly FhirResource[])[],
  exclude: ReadonlySet<string> = new Set(),
): FhirResource[] {
  const out: FhirResource[] = [];
  const at = new Map<string, number>();
  const rank = (s: string) => (s === "corrected" || s === "amended" ? 2 : s === "final" ? 1 : 0);
  const later = (a: FhirResource, b: FhirResource): boolean => {
    const ta = Date.parse(a.meta?.lastUpdated ?? "");
    const tb = Date.parse(b.meta?.lastUpdated ?? "");
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta > tb;
    const va = Number(a.meta?.versionId);
    const vb = Number(b.meta?.versionId);
    if (Number.isFinite(va) && Number.isFinite(vb) && va !== vb) return va > vb;
    if (a.resourceType !== "Observation" || b.resourceType !== "Observation") return false;
    return rank(a.status) > rank(b.status);
  };
  for (const r of lists.flat()) {
    if (r.id === undefined) {
      out.push(r);
      continue;
    }
    const key = `${r.resourceType}/${r.id}`;
    const i = at.get(key);
    if (i !== undefined) {
      if (later(r, out[i] as FhirResource)) out[i] = r;
      continue;
    }
    if (exclude.has(key)) continue;
    at.set(key, out.length);
    out.push(r);
  }
  return out;
}

describe("latestVersions", () => {
  it("keeps one copy per type and id, the latest, where the plain rule does", () => {
    const next = seeded(11).below;
    const types = ["Observation", "MedicationRequest", "Condition"] as const;
    const statuses = ["final", "amended", "corrected", "preliminary"];
    for (let round = 0; round < 500; round++) {
      let n = 0;
      // Few ids, so ids repeat within a type and across types; some without an id.
      const resource = (): FhirResource => {
        const type = types[next(types.length)] as (typeof types)[number];
        const id = next(8) === 0 ? undefined : `r${String(next(6))}`;
        const lastUpdated = next(3) === 0 ? undefined : `2025-01-0${String(1 + next(3))}T00:00:00Z`;
        const versionId = next(3) === 0 ? undefined : String(next(4));
        const meta = {
          ...(lastUpdated !== undefined ? { lastUpdated } : {}),
          ...(versionId !== undefined ? { versionId } : {}),
        };
        return {
          resourceType: type,
          ...(id !== undefined ? { id } : {}),
          meta,
          status: statuses[next(statuses.length)],
          n: n++,
        } as unknown as FhirResource;
      };
      const lists = Array.from({ length: 1 + next(3) }, () =>
        Array.from({ length: next(12) }, resource),
      );
      const exclude = new Set(next(2) === 0 ? [] : [`${types[next(3)] ?? ""}/r${String(next(6))}`]);
      const ns = (rs: readonly FhirResource[]) => rs.map((r) => (r as unknown as { n: number }).n);
      expect(ns(latestVersions(lists, exclude))).toEqual(ns(plainLatestVersions(lists, exclude)));
    }
  });

  it("keeps one copy per type and id where the plain rule does, for charts of hundreds of ids", () => {
    const next = seeded(29).below;
    const types = ["Observation", "MedicationStatement", "MedicationRequest"] as const;
    const hex = (n: number): string =>
      Array.from({ length: n }, () => "0123456789abcdef"[next(16)] ?? "0").join("");
    // Ids as EHRs write them (UUIDs, sequence numbers, a prefix and a number) and ids that end
    // alike, which defeat a table keyed on their ends.
    const idSchemes: (() => string)[] = [
      () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
      () => String(next(400)),
      () => `obs-${String(next(300)).padStart(4, "0")}`,
      () => `${String(next(300))}-lab-result-observation`,
    ];
    for (let round = 0; round < 60; round++) {
      const scheme = idSchemes[round % idSchemes.length] as () => string;
      let n = 0;
      const made: FhirResource[] = [];
      const resource = (): FhirResource => {
        // One in four repeats an id already made (maybe under another type), a few have none.
        const earlier = made.length > 0 && next(4) === 0 ? made[next(made.length)] : undefined;
        const id = next(30) === 0 ? undefined : (earlier?.id ?? scheme());
        const r = {
          resourceType: types[next(types.length)],
          ...(id !== undefined ? { id } : {}),
          meta: { versionId: String(next(5)) },
          status: next(2) === 0 ? "final" : "amended",
          n: n++,
        } as unknown as FhirResource;
        made.push(r);
        return r;
      };
      const lists = Array.from({ length: 1 + next(4) }, () =>
        Array.from({ length: next(300) }, resource),
      );
      const excluded = made.filter((r) => r.id !== undefined && next(20) === 0);
      const exclude = new Set(excluded.map((r) => `${r.resourceType}/${r.id ?? ""}`));
      const ns = (rs: readonly FhirResource[]) => rs.map((r) => (r as unknown as { n: number }).n);
      expect(ns(latestVersions(lists, exclude))).toEqual(ns(plainLatestVersions(lists, exclude)));
    }
  });

  it("tells apart an id of the wrong JSON type from the string it would print as", () => {
    const r = (id: unknown, status = "final"): FhirResource =>
      ({ resourceType: "Observation", id, status }) as unknown as FhirResource;
    const a = r(5);
    const b = r("5");
    const c = r(5, "amended");
    const d = r(null);
    expect(latestVersions([[a, b, c, d]])).toEqual([c, b, d]);
    expect(latestVersions([[b, a], [c]])).toEqual([b, c]);
  });

  it("tells apart two resources of different types with one id, before and after a repeat", () => {
    const r = (resourceType: string, id: string, status = "final"): FhirResource =>
      ({ resourceType, id, status }) as FhirResource;
    const a = r("Observation", "x");
    const b = r("Condition", "x");
    const c = r("Observation", "x", "amended");
    const d = r("MedicationRequest", "x");
    const e = r("Condition", "y");
    expect(
      latestVersions([
        [a, b],
        [c, d, e],
      ]),
    ).toEqual([c, b, d, e]);
    expect(latestVersions([[a, b, c, d, e]], new Set(["MedicationRequest/x"]))).toEqual([c, b, e]);
  });

  it("reads a lastUpdated or versionId of the wrong JSON type as absent, never coerced", () => {
    const copy = (n: number, meta: unknown, status = "final"): FhirResource =>
      ({ resourceType: "Observation", id: "hb", status, meta, n }) as unknown as FhirResource;
    // lastUpdated a number: not a FHIR instant, so the next criterion decides (versionId).
    const a = copy(1, { lastUpdated: 20261201, versionId: "1" });
    const b = copy(2, { lastUpdated: "2026-11-01T00:00:00Z", versionId: "2" });
    expect(latestVersions([[a, b]])).toEqual([b]);
    expect(latestVersions([[b, a]])).toEqual([b]);
    // versionId [3] or true would be 3 and 1 after Number(): not a string, not compared.
    const c = copy(3, { versionId: [3] }, "final");
    const d = copy(4, { versionId: "2" }, "final");
    expect(latestVersions([[d, c]])).toEqual([d]);
    expect(latestVersions([[c, d]])).toEqual([c]);
    // meta itself of the wrong type: the status decides.
    const e = copy(5, 123, "final");
    const f = copy(6, null, "amended");
    expect(latestVersions([[e, f]])).toEqual([f]);
  });
});
