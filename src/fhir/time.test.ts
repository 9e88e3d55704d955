import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFhirTime } from "./time.js";

/** What the service did before the digit-by-digit reading: Date.parse, NaN as undefined. */
function byDateParse(s: string): number | undefined {
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** Strings shaped like FHIR times, with every field sometimes out of range or malformed. */
const timeLike = fc
  .record({
    year: fc.oneof(fc.integer({ min: 1900, max: 2100 }), fc.integer({ min: 0, max: 9999 })),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    time: fc.option(
      fc.record({
        hour: fc.integer({ min: 0, max: 25 }),
        minute: fc.integer({ min: 0, max: 61 }),
        second: fc.option(fc.integer({ min: 0, max: 61 })),
        fraction: fc.option(fc.stringMatching(/^[0-9]{1,5}$/)),
        zone: fc.oneof(
          fc.constant("Z"),
          fc.constant(""),
          fc.constant("z"),
          fc
            .tuple(
              fc.constantFrom("+", "-"),
              fc.integer({ min: 0, max: 25 }),
              fc.integer({ min: 0, max: 61 }),
            )
            .map(([sign, h, m]) => `${sign}${pad(h, 2)}:${pad(m, 2)}`),
          fc.constantFrom("+0100", "+01", "GMT", " "),
        ),
      }),
    ),
    separator: fc.constantFrom("T", "T", "T", " ", "t"),
  })
  .map(({ year, month, day, time, separator }) => {
    const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
    if (time === null) return date;
    const seconds = time.second === null ? "" : `:${pad(time.second, 2)}`;
    const fraction = time.second === null || time.fraction === null ? "" : `.${time.fraction}`;
    return `${date}${separator}${pad(time.hour, 2)}:${pad(time.minute, 2)}${seconds}${fraction}${time.zone}`;
  });

describe("parseFhirTime reads exactly what Date.parse reads", () => {
  it("the usual shapes, and the ones left to Date.parse", () => {
    for (const s of [
      "2025-03-04",
      "2025-03-04T08:15:00Z",
      "2025-03-04T08:15:00.123Z",
      "2025-03-04T08:15Z",
      "2025-03-04T08:15:00+05:30",
      "2025-03-04T08:15:00-10:00",
      "2024-02-29T12:00:00Z",
      "2023-02-29",
      "2025-03-31T23:59:59.999+14:00",
      "2025-03-04T24:00:00Z",
      "2025-03-04T08:15:60Z",
      "2025-03-04T08:15:00.1234Z",
      "2025-03-04T08:15:00",
      "0050-01-01",
      "2025",
      "2025-03",
      "not a date",
    ]) {
      expect(parseFhirTime(s), s).toBe(byDateParse(s));
    }
    expect(parseFhirTime("2025-03-04T08:15:00+01:00")).toBe(Date.UTC(2025, 2, 4, 7, 15));
    expect(parseFhirTime(undefined)).toBeUndefined();
    expect(parseFhirTime("")).toBeUndefined();
  });

  it("property: generated time-like strings (valid and not) agree with Date.parse", () => {
    fc.assert(
      fc.property(timeLike, (s) => {
        expect(parseFhirTime(s)).toBe(byDateParse(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it("every day of every year from 1000 to 9999, the days past a month's end included", () => {
    const wrong: string[] = [];
    for (let year = 1000; year <= 9999; year++) {
      for (let month = 1; month <= 12; month++) {
        for (const day of [1, 28, 29, 30, 31]) {
          const s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
          if (parseFhirTime(s) !== byDateParse(s)) wrong.push(s);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(parseFhirTime("1000-01-01T00:00:00.000-23:59")).toBe(
      byDateParse("1000-01-01T00:00:00.000-23:59"),
    );
    expect(parseFhirTime("9999-12-31T23:59:59.999-23:59")).toBe(
      byDateParse("9999-12-31T23:59:59.999-23:59"),
    );
  });

  it("property: arbitrary strings agree with Date.parse", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        expect(parseFhirTime(s)).toBe(byDateParse(s));
      }),
      { numRuns: 5_000 },
    );
  });
});
