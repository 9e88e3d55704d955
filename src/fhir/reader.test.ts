/**
 * Bundles of the wrong shape from a FHIR server (docs/clinical-rules.md#1-facts): an entry or
 * link that is not a list makes the read fail (never an empty result); entries and links that
 * are not objects are skipped.
 */
import type { Bundle } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { MalformedBundle, bundleResources, collectPages, nextLink } from "./reader.js";

const LIMITS = { maxPages: 5, maxResources: 100 };
const bundle = (fields: Record<string, unknown>): Bundle =>
  ({ resourceType: "Bundle", type: "searchset", ...fields }) as unknown as Bundle;
const obs = { resourceType: "Observation", id: "o1" };

describe("Bundles of the wrong shape", () => {
  it("skip entries, resources and links that are not objects", () => {
    const b = bundle({
      entry: [null, 3, { resource: "x" }, { resource: { id: "t" } }, { resource: obs }],
      link: [null, { relation: "next", url: 5 }, "next"],
    });
    expect(bundleResources(b)).toEqual([obs]);
    expect(nextLink(b)).toBeUndefined();
  });

  it("fail the read when entry or link is not a list, on the first page or a later one", async () => {
    for (const fields of [{ entry: 123 }, { entry: { resource: obs } }, { link: "next" }]) {
      await expect(
        collectPages(bundle(fields), () => Promise.reject(new Error("no page")), LIMITS),
      ).rejects.toBeInstanceOf(MalformedBundle);
      const first = bundle({ entry: [{ resource: obs }], link: [{ relation: "next", url: "p2" }] });
      await expect(
        collectPages(first, () => Promise.resolve(bundle(fields)), LIMITS),
      ).rejects.toBeInstanceOf(MalformedBundle);
    }
  });

  it("read a well-formed Bundle and its pages as before", async () => {
    const first = bundle({ entry: [{ resource: obs }], link: [{ relation: "next", url: "p2" }] });
    const second = bundle({ entry: [{ resource: { ...obs, id: "o2" } }] });
    const result = await collectPages(first, () => Promise.resolve(second), LIMITS);
    expect(result.resources.map((r) => r.id)).toEqual(["o1", "o2"]);
    expect(result.complete).toBe(true);
  });
});
