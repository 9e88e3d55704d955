/**
 * The Node versions ln-cds says it runs on (`engines` in package.json) are versions every
 * installed package accepts, so `npm install` on any of them gives no EBADENGINE warning, and the
 * Docker image's Node is one of them.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};
const dockerfile = readFileSync(new URL("Dockerfile", root), "utf8");

type Version = readonly [number, number, number];

/** One comparator's version: missing or wildcard parts are undefined. */
function parts(text: string): (number | undefined)[] {
  const ps = text.split(".").map((p) => (p === "x" || p === "X" || p === "*" ? undefined : p));
  if (ps.some((p) => p !== undefined && !/^\d+$/.test(p))) {
    throw new Error(`unreadable version "${text}"`);
  }
  return [0, 1, 2].map((i) => (ps[i] === undefined ? undefined : Number(ps[i])));
}

function compare(a: Version, b: readonly (number | undefined)[]): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `v` satisfies one comparator: `*`, `20`, `20.x`, `>=20.19`, `^20.19.4`. */
function satisfiesComparator(v: Version, comparator: string): boolean {
  if (comparator === "*" || comparator === "") return true;
  const m = /^(>=|\^)?(.+)$/.exec(comparator);
  if (!m) throw new Error(`unreadable comparator "${comparator}"`);
  const [, op, version] = m;
  const want = parts(version!);
  if (op === ">=") return compare(v, want) >= 0;
  if (op === "^") return v[0] === want[0] && compare(v, want) >= 0;
  return want.every((p, i) => p === undefined || p === v[i]);
}

/** npm's range syntax as the lock file uses it: alternatives (`||`) of comparator sets. */
function satisfies(v: Version, range: string): boolean {
  return range.split("||").some((alt) =>
    alt
      .trim()
      .replace(/(>=|\^)\s+/g, "$1")
      .split(/\s+/)
      .every((c) => satisfiesComparator(v, c)),
  );
}

/** The lowest version of each alternative of the project's own range (`^20.19.4` → 20.19.4). */
function lowestVersions(range: string): Version[] {
  return range.split("||").map((alt) => {
    const m = /^\s*(?:\^|>=)?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(alt);
    if (!m) throw new Error(`engines.node alternative "${alt}" is not ^X.Y.Z or >=X.Y.Z`);
    return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] as const;
  });
}

describe("the Node versions ln-cds runs on", () => {
  it("reads npm ranges as npm does", () => {
    expect(satisfies([20, 0, 0], ">=20")).toBe(true);
    expect(satisfies([20, 0, 0], "^20.19.0 || >=22.12.0")).toBe(false);
    expect(satisfies([20, 19, 4], "^20.19.0 || >=22.12.0")).toBe(true);
    expect(satisfies([21, 0, 0], "^20.19.0 || >=22.12.0")).toBe(false);
    expect(satisfies([22, 13, 0], "20.x || 22.x")).toBe(true);
    expect(satisfies([20, 1, 0], ">=16 || 14 >=14.17")).toBe(true);
    expect(satisfies([14, 2, 0], ">=16 || 14 >=14.17")).toBe(false);
    expect(satisfies([20, 0, 0], ">= 10.x")).toBe(true);
  });

  it("every installed package accepts the lowest version of each line engines.node names", () => {
    const lowest = lowestVersions(pkg.engines.node);
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === "" || range === undefined) continue;
      for (const v of lowest) {
        if (!satisfies(v, range)) refusing.push(`${path} (${range}) refuses ${v.join(".")}`);
      }
    }
    expect(refusing).toEqual([]);
  });

  it("the Docker image runs a Node of one of those lines", () => {
    const majors = lowestVersions(pkg.engines.node).map((v) => v[0]);
    const images = [...dockerfile.matchAll(/^FROM\s+node:(\d+)/gim)].map((m) => Number(m[1]));
    expect(images.length).toBeGreaterThan(0);
    for (const major of images) expect(majors).toContain(major);
  });
});
