/**
 * FHIR date and dateTime strings to epoch milliseconds, exactly as `Date.parse` reads them.
 *
 * Every lab of every request has its time read, so the usual shapes are read digit by digit:
 * a date (`2025-03-04`, UTC midnight as ECMAScript says) and an instant with `Z` or a ±hh:mm
 * offset, with or without seconds and with 0 or 3 decimals. Anything else, or a field out of its
 * plain range (day 32, hour 24, second 60, a year before 1000), goes to `Date.parse` itself, so
 * the result is always what `Date.parse` gives; a test compares the two on generated strings.
 * (V8's Date.parse rolls 30 February over to March, as Date.UTC does, so days up to 31 agree.)
 */

const ZERO = 48;

/** Two (or `count`) ASCII digits at `at` as a number; -1 when any is not a digit. */
function digits(s: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

const DAY_MS = 86_400_000;

/**
 * Days from 1970-01-01 to the first day of `month` (1–12) of `year`, proleptic Gregorian: what
 * `Date.UTC(year, month - 1, 1) / DAY_MS` gives, in plain arithmetic (a call of Date.UTC, a
 * runtime built-in, cost twice as much and ran for every lab). Years are counted from March, so
 * that a leap day ends its year, in 400-year eras of 146,097 days.
 */
function daysToMonth(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (month + 9) % 12;
  const dayOfEra =
    yearOfEra * 365 +
    Math.floor(yearOfEra / 4) -
    Math.floor(yearOfEra / 100) +
    Math.floor((153 * monthFromMarch + 2) / 5);
  // 719,468 days from 0000-03-01 to 1970-01-01.
  return era * 146_097 + dayOfEra - 719_468;
}

/** The fast reading, or undefined when the string is not one of the plain shapes. */
function readPlain(s: string): number | undefined {
  const n = s.length;
  if (n !== 10 && n < 17) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (s[4] !== "-" || s[7] !== "-" || year < 1000 || month < 1 || month > 12) return undefined;
  if (day < 1 || day > 31) return undefined;
  // Days past the month's last roll over into the next month, as Date.UTC does.
  const dayMs = (daysToMonth(year, month) + day - 1) * DAY_MS;
  if (n === 10) return dayMs;
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (s[10] !== "T" || s[13] !== ":" || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  let i = 16;
  let second = 0;
  let ms = 0;
  if (s[i] === ":") {
    second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return undefined;
    i += 3;
    if (s[i] === ".") {
      ms = digits(s, i + 1, 3);
      if (ms < 0 || (i + 4 < n && digits(s, i + 4, 1) >= 0)) return undefined;
      i += 4;
    }
  }
  let offsetMinutes = 0;
  if (s[i] === "Z" && i + 1 === n) {
    // UTC
  } else if ((s[i] === "+" || s[i] === "-") && i + 6 === n && s[i + 3] === ":") {
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offsetMinutes = (s[i] === "+" ? 1 : -1) * (oh * 60 + om);
  } else {
    // No zone means local time in ECMAScript: left to Date.parse.
    return undefined;
  }
  return dayMs + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + ms;
}

/**
 * Epoch milliseconds of a FHIR date/dateTime/instant, or undefined when unreadable: a value that
 * is not a string (a number or an object where a dateTime belongs) is not a FHIR dateTime.
 */
export function parseFhirTime(s: unknown): number | undefined {
  if (typeof s !== "string" || s === "") return undefined;
  const plain = readPlain(s);
  if (plain !== undefined) return plain;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
