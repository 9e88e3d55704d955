import { describe, expect, it } from "vitest";
import { createFailureLog } from "./failure-log.js";
import { createLogger } from "./log.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("debug", {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

describe("failure log", () => {
  it("logs the first failure, then one line per interval with a count, then the recovery once", () => {
    const { logger, lines } = capture();
    let t = 0;
    const log = createFailureLog(logger, {
      event: "db-failed",
      failure: "the database failed",
      recovery: "the database works again",
      intervalMs: 30_000,
      now: () => t,
    });
    // An outage of 70 s, polled every 200 ms: 351 failures.
    for (t = 0; t <= 70_000; t += 200) log.failed(new Error("connect ECONNREFUSED"));
    log.succeeded();
    log.succeeded();
    expect(lines.map((l) => [l.level, l.event, l.count ?? null, l.failures ?? null])).toEqual([
      [50, "db-failed", 1, null],
      [50, "db-failed", 150, 151],
      [50, "db-failed", 150, 301],
      [30, "db-failed-recovered", null, 351],
    ]);
    expect(lines[0]?.err).toBe("connect ECONNREFUSED");
    expect(lines[3]?.failedForMs).toBe(70_200);
  });

  it("a new failure after the recovery is logged at once again", () => {
    const { logger, lines } = capture();
    let t = 0;
    const log = createFailureLog(logger, {
      event: "e",
      failure: "f",
      recovery: "r",
      now: () => t,
    });
    log.succeeded(); // nothing failed: nothing to say
    log.failed(new Error("a"));
    t = 1000;
    log.succeeded();
    t = 2000;
    log.failed(new Error("b"));
    expect(lines.map((l) => [l.event, l.err ?? null])).toEqual([
      ["e", "a"],
      ["e-recovered", null],
      ["e", "b"],
    ]);
  });
});
