import { describe, expect, it } from "vitest";
import { iso } from "./timeline.js";
import { seeded } from "../../test/support/seeded.js";

describe("iso writes an instant as Date.prototype.toISOString does", () => {
  const byDate = (t: number): string => new Date(t).toISOString();

  it("on every day from 1970 to 2400, at a different time of day each", () => {
    const sequence = seeded(7);
    for (let day = 0; day < 157_000; day++) {
      const t = day * 86_400_000 + (sequence.state() % 86_400_000);
      expect(iso(t)).toBe(byDate(t));
    }
  });

  it("at the edges: midnight, the last millisecond of a day, leap days, the last instant of 9999", () => {
    const edges = [
      0,
      1,
      999,
      86_399_999,
      Date.UTC(2000, 1, 29),
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(2400, 1, 29, 12),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const t of edges) expect(iso(t)).toBe(byDate(t));
  });

  it("outside 1970–9999 or between milliseconds, as toISOString too", () => {
    for (const t of [-1, -86_400_001, Date.UTC(10000, 0, 1), 8.64e15, 1.5, 1e12 + 0.25])
      expect(iso(t)).toBe(byDate(t));
    expect(() => iso(NaN)).toThrow(RangeError);
  });
});
