import { describe, expect, it } from "vitest";
import { sortByTimeThenRef } from "./order.js";
import { seeded } from "../../../test/support/seeded.js";

interface Item {
  readonly time: number;
  readonly ref: string;
  /** Which input element it is, to see that equal items keep their order. */
  readonly n: number;
}

/** The order it replaced: one stable sort comparing time, then reference. */
const byComparator = (items: readonly Item[]): Item[] =>
  [...items].sort((a, b) => a.time - b.time || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));

describe("labs in order of time, then reference", () => {
  it("gives the order of a stable sort by (time, ref), for every input order", () => {
    const next = seeded(7).below;
    for (let round = 0; round < 400; round++) {
      const size = next(60);
      const times = 1 + next(12);
      // Few refs, some repeated (labs without an id are all "Observation/"), groups of up to 40.
      const refs = [
        "Observation/",
        "Observation/a",
        "Observation/b",
        "Observation/c",
        "Observation/d",
      ];
      const items: Item[] = Array.from({ length: size }, (_, n) => ({
        time: next(times) * 1000,
        ref: (refs[next(refs.length)] as string) + (next(3) === 0 ? String(next(50)) : ""),
        n,
      }));
      const ascending = [...items].sort((a, b) => a.time - b.time);
      const descending = [...ascending].reverse();
      for (const input of [items, ascending, descending]) {
        const sorted = [...input];
        sortByTimeThenRef(sorted);
        expect(sorted.map((i) => i.n)).toEqual(byComparator(input).map((i) => i.n));
        // With the ids as keys (what the normaliser passes): the same order.
        const byId = [...input];
        sortByTimeThenRef(
          byId,
          input.map((i) => i.ref.slice("Observation/".length)),
        );
        expect(byId.map((i) => i.n)).toEqual(byComparator(input).map((i) => i.n));
      }
    }
  });

  it("orders a group of one time longer than insertion handles", () => {
    const items: Item[] = Array.from({ length: 40 }, (_, n) => ({
      time: n < 20 ? 5 : 1,
      ref: `Observation/${String((n * 7) % 40).padStart(2, "0")}`,
      n,
    }));
    for (const keys of [undefined, items.map((i) => i.ref.slice("Observation/".length))]) {
      const sorted = [...items];
      sortByTimeThenRef(sorted, keys);
      expect(sorted.map((i) => i.n)).toEqual(byComparator(items).map((i) => i.n));
      expect(sorted[0]?.time).toBe(1);
    }
  });
});
