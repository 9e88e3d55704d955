/**
 * `npm run bench`. Not part of `npm test`.
 *
 * 1. Starts ln-cds as `node dist/src/main.js serve` in production mode (CDS_AUTH=off for the
 *    run) and the floor (a bare express app, bench/floor.ts), each in its own process.
 * 2. Drives every patient-view service from discovery with autocannon, 10 connections in 5-s
 *    slices, with full prefetch for a synthetic patient (3 years of monthly labs, 12 medication
 *    resources), and the floor with the same body, timed before and after each service. Ratios
 *    are against the mean of the two floor slices beside the service's.
 *    The patient is on iguratimod; eligibility is also timed on the same chart without it.
 * 3. The no-prefetch path: invocations with only `fhirServer`, against the demo FHIR server
 *    holding the synthetic patient; counts FHIR requests per invocation, checks that they
 *    overlap, and measures the latency the service adds over the slowest FHIR request.
 * 4. Authentication on: the service (CDS_AUTH=on) and a floor that also verifies the JWT with
 *    jose, each request with a fresh ES384 JWT of its own `jti` (bench/auth.ts).
 * 5. The safety monitor draining a backlog of changed patients on the demo FHIR server, every
 *    FHIR answer delayed MONITOR_FHIR_DELAY_MS (bench/monitor.ts).
 * 6. The alert delivery worker's alerts per second on SQLite and PostgreSQL (bench/alerts.ts).
 *
 * Prints the figures and rewrites bench/results.md. BENCH_ONLY (a comma list of the sections
 * patient-view, no-prefetch, auth, monitor, alerts) runs only those, prints their figures and
 * leaves bench/results.md alone: a partial run is for the one working on a section.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type { FhirResource } from "fhir/r4.js";
import startPostgres from "../test/support/global-setup.js";
import { benchAlerts, type AlertBenchFigure } from "./alerts.js";
import { startBenchIssuer } from "./auth.js";
import { benchMonitor, monitorBacklog, type MonitorBenchFigure } from "./monitor.js";
import { patientPrefetch } from "../fixtures/index.js";
import { SYNTHETIC_PATIENT_ID, syntheticPatient } from "./synthetic.js";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? "5");
const CONNECTIONS = 10;
const WARM_S = 4;
/** Rounds of every full-prefetch target, interleaved, so a change in the machine's load hits all. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "4");
const FHIR_DELAY_MS = 50;
/** The service and the floor, each for this many requests per round, with authentication on. */
const AUTH_REQUESTS = Number(process.env.BENCH_AUTH_REQUESTS ?? "2500");
const AUTH_SERVICE = "iguratimod-response";
/** Throughput targets, as a share of the floor measured in the same round. */
const THROUGHPUT_TARGET = 0.85;
const AUTH_THROUGHPUT_TARGET = 0.8;
/** The eligibility target whose chart holds no iguratimod (the rules' real work). */
const CANDIDATE = "the same chart without iguratimod";
const MONITOR_PATIENTS = Number(process.env.BENCH_MONITOR_PATIENTS ?? "1000");
const MONITOR_FHIR_DELAY_MS = 100;
const MONITOR_CONCURRENCY = 20;
const MONITOR_TARGET_S = 60;
const root = process.cwd();

const SECTIONS = ["patient-view", "no-prefetch", "auth", "monitor", "alerts"] as const;
type Section = (typeof SECTIONS)[number];

/** The sections BENCH_ONLY names, or undefined for all; an unknown name stops the bench. */
function onlySections(value: string | undefined): ReadonlySet<Section> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = value.split(",").map((n) => n.trim());
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY: unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`,
    );
  }
  return new Set(names as Section[]);
}
const only = onlySections(process.env.BENCH_ONLY);
const runs = (section: Section): boolean => only === undefined || only.has(section);

/** One target over every round: medians, and the per-round ratios to the floor of that round. */
interface LoadSummary {
  readonly name: string;
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly p99s: readonly number[];
  readonly errors: number;
  readonly non2xx: number;
  readonly cpuMsPerRequest: number;
  /** Median over rounds of this target's req/s over the floor's req/s in the same round. */
  readonly ratio: number;
  /** Median over rounds of the floor's CPU per request over this target's. */
  readonly cpuRatio: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

/** The floor's row of a round of several floor slices: the median of each figure over them. */
function floorOfRound(slices: readonly Load[]): Load {
  const first = slices[0];
  if (first === undefined) throw new Error("bench: a round without a floor slice");
  return {
    name: first.name,
    reqPerSec: median(slices.map((l) => l.reqPerSec)),
    p50: median(slices.map((l) => l.p50)),
    p99: median(slices.map((l) => l.p99)),
    errors: slices.reduce((n, l) => n + l.errors, 0),
    non2xx: slices.reduce((n, l) => n + l.non2xx, 0),
    cpuMsPerRequest: median(slices.map((l) => l.cpuMsPerRequest)),
  };
}

/**
 * `rounds[r][i]`: target i in round r, the floor first. A target's ratios are to its own `floor`
 * when it has one, else to the round's floor.
 */
function summarise(rounds: readonly (readonly Load[])[]): LoadSummary[] {
  const first = rounds[0] ?? [];
  return first.map((load, i) => {
    const of = (r: readonly Load[]): Load => r[i] ?? load;
    const floorOf = (r: readonly Load[]): Pick<Load, "reqPerSec" | "cpuMsPerRequest"> =>
      of(r).floor ?? r[0] ?? load;
    return {
      name: load.name,
      reqPerSec: median(rounds.map((r) => of(r).reqPerSec)),
      p50: median(rounds.map((r) => of(r).p50)),
      p99: median(rounds.map((r) => of(r).p99)),
      p99s: rounds.map((r) => of(r).p99),
      errors: rounds.reduce((n, r) => n + of(r).errors, 0),
      non2xx: rounds.reduce((n, r) => n + of(r).non2xx, 0),
      cpuMsPerRequest: median(rounds.map((r) => of(r).cpuMsPerRequest)),
      ratio: median(rounds.map((r) => of(r).reqPerSec / floorOf(r).reqPerSec)),
      cpuRatio: median(rounds.map((r) => floorOf(r).cpuMsPerRequest / of(r).cpuMsPerRequest)),
    };
  });
}

interface Load {
  readonly name: string;
  /**
   * The floor this target is compared with, when it is not the round's first entry: the mean of
   * the floor slices timed just before and just after it (patient-view rounds).
   */
  readonly floor?: { readonly reqPerSec: number; readonly cpuMsPerRequest: number };
  readonly reqPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  /** CPU time (user + system, all threads) the target process spent per answered request. */
  readonly cpuMsPerRequest: number;
}

/**
 * CPU milliseconds a process has used, from /proc (Linux; NaN elsewhere). Other sessions share
 * this machine, so req/s swings from run to run; the CPU each request costs the target does not
 * depend on how much of the machine it got, and shows where the service stands against the floor.
 */
function cpuMsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

async function waitUp(url: string, child: ChildProcess, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${String(child.exitCode)}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

async function startProcess(
  script: string,
  env: Record<string, string>,
  what: string,
  nodeArgs: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(root, script), ...(what === "ln-cds" ? ["serve"] : [])],
    {
      env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  const url = `http://127.0.0.1:${String(port)}`;
  await waitUp(`${url}/healthz`, child, what);
  return { url, child };
}

/** Load without measuring, WARM_S seconds at the same concurrency. */
async function warm(url: string, body: string): Promise<void> {
  await autocannon({
    url,
    method: "POST",
    connections: CONNECTIONS,
    duration: WARM_S,
    headers: { "content-type": "application/json" },
    body,
  });
}

async function drive(
  name: string,
  url: string,
  body: string,
  pid: number | undefined,
): Promise<Load> {
  const cpuBefore = cpuMsOf(pid);
  const result = await autocannon({
    url,
    method: "POST",
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { "content-type": "application/json" },
    body,
  });
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuMsPerRequest: (cpuMsOf(pid) - cpuBefore) / result.requests.total,
  };
}

/**
 * As `drive`, for a fixed number of requests, each with the next of `tokens` as its bearer JWT
 * (autocannon rebuilds the request for each, so every one goes out with its own token).
 *
 * The rate is timed here, from the call to the last answer: autocannon notices that a fixed
 * amount is done only at its next sample tick (every second by default), so its `duration` is
 * rounded up to whole seconds, and 2,500 requests taking 3.1 s or 3.9 s both counted as 4 s (a
 * rate off by up to a quarter, and ratios that could only take a few values).
 */
async function driveWithTokens(
  name: string,
  url: string,
  body: string,
  pid: number | undefined,
  tokens: readonly string[],
  amount: number,
): Promise<Load> {
  let next = 0;
  const path = new URL(url).pathname;
  const cpuBefore = cpuMsOf(pid);
  const started = performance.now();
  let lastAnswer = started;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    // Ends the run within 100 ms of the last answer rather than at the next whole second.
    sampleInt: 100,
    requests: [
      {
        method: "POST",
        path,
        headers: { "content-type": "application/json" },
        body,
        setupRequest: (req) => ({
          ...req,
          headers: {
            ...req.headers,
            authorization: `Bearer ${tokens[next++] ?? "tokens-exhausted"}`,
          },
        }),
        onResponse: () => {
          lastAnswer = performance.now();
        },
      },
    ],
  });
  return {
    name,
    // A fixed amount: the rate is the total over the time from the call to the last answer.
    reqPerSec: result.requests.total / ((lastAnswer - started) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuMsPerRequest: (cpuMsOf(pid) - cpuBefore) / result.requests.total,
  };
}

interface FhirTiming {
  start: number;
  end: number;
}

interface BenchFhir {
  readonly url: string;
  readonly origin: string;
  /** The timings of the requests since the last call, from the FHIR process. */
  timings(): Promise<FhirTiming[]>;
}

interface NoPrefetchFigure {
  readonly service: string;
  readonly invocations: number;
  readonly fhirRequestsPerInvocation: number;
  readonly allOverlapping: boolean;
  /** The slowest FHIR request of each invocation as the service's HTTP client met it. */
  readonly slowestFhirP50: number;
  readonly addedP50: number;
  readonly addedP99: number;
  /** The same, with the slowest request as the FHIR server's own clock timed it. */
  readonly serverSlowestFhirP50: number;
  readonly serverAddedP50: number;
}

/** The service's outgoing-request timings since the last call (bench/fhir-client-timing.ts). */
function serviceFhirTimings(child: ChildProcess): Promise<FhirTiming[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (typeof message !== "object" || message === null || !("fhirTimings" in message)) return;
      child.off("message", onMessage);
      resolve((message as { fhirTimings: FhirTiming[] }).fhirTimings);
    };
    child.on("message", onMessage);
    child.send("fhir-timings", (error) => {
      if (error) {
        child.off("message", onMessage);
        reject(error);
      }
    });
  });
}

const longestOf = (ts: readonly FhirTiming[]): number =>
  Math.max(...ts.map((t) => t.end - t.start));

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/**
 * One POST over a kept-alive connection with node:http, timed from the call to the last byte of
 * the answer. The global `fetch` was not used here: its own overhead (about 1 ms per call on this
 * machine) would be counted as latency the service adds.
 */
function timedPost(
  agent: Agent,
  url: string,
  body: string,
): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function noPrefetch(
  serviceUrl: string,
  serviceProcess: ChildProcess,
  fhir: BenchFhir,
  service: string,
  invocations: number,
): Promise<NoPrefetchFigure> {
  const counts: number[] = [];
  const slowest: number[] = [];
  const added: number[] = [];
  const serverSlowest: number[] = [];
  const serverAdded: number[] = [];
  let allOverlapping = true;
  const body = JSON.stringify({
    hook: "patient-view",
    hookInstance: randomUUID(),
    fhirServer: fhir.url,
    context: { userId: "Practitioner/bench", patientId: SYNTHETIC_PATIENT_ID },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < invocations + 3; i++) {
    await fhir.timings(); // clear
    await serviceFhirTimings(serviceProcess); // clear
    const { status, ms: total } = await timedPost(
      agent,
      `${serviceUrl}/cds-services/${service}`,
      body,
    );
    if (status !== 200) throw new Error(`${service} without prefetch: HTTP ${String(status)}`);
    if (i < 3) continue; // warm-up
    const ts = await fhir.timings();
    const own = await serviceFhirTimings(serviceProcess);
    counts.push(Math.max(ts.length, own.length));
    const firstEnd = Math.min(...ts.map((t) => t.end));
    if (!ts.every((t) => t.start <= firstEnd)) allOverlapping = false;
    slowest.push(longestOf(own));
    added.push(total - longestOf(own));
    serverSlowest.push(longestOf(ts));
    serverAdded.push(total - longestOf(ts));
  }
  agent.destroy();
  return {
    service,
    invocations,
    fhirRequestsPerInvocation: Math.max(...counts),
    allOverlapping,
    slowestFhirP50: percentile(slowest, 50),
    addedP50: percentile(added, 50),
    addedP99: percentile(added, 99),
    serverSlowestFhirP50: percentile(serverSlowest, 50),
    serverAddedP50: percentile(serverAdded, 50),
  };
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const now = new Date();
  const resources = syntheticPatient(now);
  // The FHIR server runs in its own process, so Medplum's work does not stall the measuring
  // client. Every answer waits FHIR_DELAY_MS first, standing in for a remote server's network
  // time; it also lets the parallel requests of one invocation arrive before the
  // (single-threaded) Medplum search of the first one starts, so their overlap can be seen.
  const fhirProcess = await startProcess(
    "dist/bench/fhir-child.js",
    { FHIR_DELAY_MS: String(FHIR_DELAY_MS), BENCH_NOW: String(now.getTime()) },
    "FHIR server",
  );
  const fhir: BenchFhir = {
    url: `${fhirProcess.url}/fhir`,
    origin: fhirProcess.url,
    timings: async () =>
      (await (await fetch(`${fhirProcess.url}/__timings`)).json()) as FhirTiming[],
  };
  const dataDir = mkdtempSync(join(tmpdir(), "ln-cds-bench-"));
  const service = await startProcess(
    "dist/src/main.js",
    {
      NODE_ENV: "production",
      CDS_AUTH: "off",
      // Warnings and errors only, as a production deployment would log under load.
      LOG_LEVEL: "warn",
      SQLITE_PATH: join(dataDir, "bench.sqlite"),
      FHIR_SERVER_ALLOWLIST: fhir.origin,
      RATE_LIMIT_PER_MINUTE: "100000000",
    },
    "ln-cds",
    // Times the service's FHIR requests where it meets them; see the no-prefetch section.
    ["--import", join(root, "dist/bench/fhir-client-timing.js")],
  );
  const floor = await startProcess("dist/bench/floor.js", {}, "floor");
  const rounds: Load[][] = [];
  const nop: NoPrefetchFigure[] = [];
  const authRounds: Load[][] = [];
  let monitor: MonitorBenchFigure | undefined;
  let alerts: AlertBenchFigure[] = [];
  let stopPostgres: (() => void) | undefined;
  try {
    const discovery = (await (await fetch(`${service.url}/cds-services`)).json()) as {
      services: { id: string; hook: string; prefetch?: Record<string, string> }[];
    };
    const patientView = discovery.services.filter((s) => s.hook === "patient-view");
    const bodyOf = (
      s: (typeof patientView)[number],
      chart: readonly FhirResource[] = resources,
    ): string =>
      JSON.stringify({
        hook: "patient-view",
        hookInstance: randomUUID(),
        context: { userId: "Practitioner/bench", patientId: SYNTHETIC_PATIENT_ID },
        prefetch: patientPrefetch(chart, Object.keys(s.prefetch ?? {})),
      });
    const bodies = new Map(patientView.map((s) => [s.id, bodyOf(s)]));
    const floorBody = [...bodies.values()].sort((a, b) => b.length - a.length)[0] ?? "{}";
    // The bench patient is on iguratimod, whom the eligibility rules do not judge (nor read labs
    // for). Its chart before iguratimod is the eligibility service's real work: timed too.
    const candidate = resources.filter((r) => !r.id?.includes("iguratimod"));
    const targets: { name: string; id: string; body: string }[] = [...bodies].map(([id, body]) => ({
      name: id,
      id,
      body,
    }));
    for (const s of patientView.filter((x) => x.id === "refractory-ln-eligibility"))
      targets.push({ name: `${s.id} (${CANDIDATE})`, id: s.id, body: bodyOf(s, candidate) });
    // Check every body answers 200 before timing it.
    for (const { name, id, body } of targets) {
      const res = await fetch(`${service.url}/cds-services/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await res.text();
      if (res.status !== 200)
        throw new Error(`${name}: HTTP ${String(res.status)} ${text.slice(0, 300)}`);
      console.log(
        `${name}: ${String((JSON.parse(text) as { cards: unknown[] }).cards.length)} card(s) for the synthetic patient; body ${String(Math.round(body.length / 1024))} KiB`,
      );
    }
    // Warm every target before timing any, as a long-running server would be: measured, the
    // first target timed after a short warm-up spent up to twice the CPU per request of the
    // same target timed later in the same process (JIT tiers and heap sizing still settling).
    if (runs("patient-view")) {
      await warm(`${floor.url}/cds-services/x`, floorBody);
      for (const { id, body } of targets) await warm(`${service.url}/cds-services/${id}`, body);
    }
    // The floor is timed before the first target and again after every target, and each target
    // is compared with the mean of the two floor slices beside it: the load of this shared
    // machine drifts within seconds (the floor alone swung from 470 to 700 req/s between
    // consecutive 2-s slices), so a floor timed once per round, up to four targets earlier,
    // moved a target's ratio by ±10 points from one run to the next.
    const timeFloor = () =>
      drive("floor (bare express)", `${floor.url}/cds-services/x`, floorBody, floor.child.pid);
    for (let round = 1; runs("patient-view") && round <= ROUNDS; round++) {
      const floorSlices: Load[] = [await timeFloor()];
      const targetLoads: Load[] = [];
      for (const { name, id, body } of targets) {
        const load = await drive(
          name,
          `${service.url}/cds-services/${id}`,
          body,
          service.child.pid,
        );
        const before = floorSlices[floorSlices.length - 1] ?? load;
        const after = await timeFloor();
        floorSlices.push(after);
        targetLoads.push({
          ...load,
          floor: {
            reqPerSec: (before.reqPerSec + after.reqPerSec) / 2,
            cpuMsPerRequest: (before.cpuMsPerRequest + after.cpuMsPerRequest) / 2,
          },
        });
      }
      const loadsOfRound: Load[] = [floorOfRound(floorSlices), ...targetLoads];
      rounds.push(loadsOfRound);
      console.log(
        `round ${String(round)}: ` +
          loadsOfRound
            .map(
              (l) =>
                `${l.name} ${l.reqPerSec.toFixed(0)} req/s` +
                (l.floor !== undefined
                  ? ` (${((100 * l.reqPerSec) / l.floor.reqPerSec).toFixed(0)} % of the floor beside it)`
                  : ""),
            )
            .join(", "),
      );
    }
    for (const s of runs("no-prefetch") ? patientView : [])
      nop.push(await noPrefetch(service.url, service.child, fhir, s.id, 50));

    // Authentication on: the service and the floor each verify an ES384 JWT per request.
    if (runs("auth")) {
      const issuer = await startBenchIssuer();
      const authService = await startProcess(
        "dist/src/main.js",
        {
          NODE_ENV: "production",
          CDS_AUTH: "on",
          CDS_ISSUERS: JSON.stringify({ [issuer.iss]: { jwks_url: issuer.jwksUrl } }),
          LOG_LEVEL: "warn",
          SQLITE_PATH: join(dataDir, "bench-auth.sqlite"),
          RATE_LIMIT_PER_MINUTE: "100000000",
        },
        "ln-cds",
      );
      const authFloor = await startProcess(
        "dist/bench/floor.js",
        { FLOOR_JWKS_URL: issuer.jwksUrl, FLOOR_ISSUER: issuer.iss },
        "floor",
      );
      try {
        const body = bodies.get(AUTH_SERVICE) ?? floorBody;
        const targets = [
          {
            name: "floor with JWT verification (bare express + jose)",
            url: `${authFloor.url}/cds-services/${AUTH_SERVICE}`,
            pid: authFloor.child.pid,
          },
          {
            name: `${AUTH_SERVICE}, CDS_AUTH=on`,
            url: `${authService.url}/cds-services/${AUTH_SERVICE}`,
            pid: authService.child.pid,
          },
        ];
        const spare = 100;
        for (const t of targets) {
          const warmUp = Math.round(AUTH_REQUESTS / 3);
          await driveWithTokens(
            t.name,
            t.url,
            body,
            t.pid,
            issuer.tokens(t.url, warmUp + spare),
            warmUp,
          );
        }
        for (let round = 1; round <= ROUNDS; round++) {
          const loads: Load[] = [];
          for (const t of targets) {
            const tokens = issuer.tokens(t.url, AUTH_REQUESTS + spare);
            loads.push(await driveWithTokens(t.name, t.url, body, t.pid, tokens, AUTH_REQUESTS));
          }
          authRounds.push(loads);
          console.log(
            `auth round ${String(round)}: ` +
              loads.map((l) => `${l.name} ${l.reqPerSec.toFixed(0)} req/s`).join(", "),
          );
        }
      } finally {
        authService.child.kill("SIGTERM");
        authFloor.child.kill("SIGTERM");
        await issuer.close();
      }
    }

    // The safety monitor: a backlog of changed patients, every FHIR answer 100 ms late.
    if (runs("monitor")) {
      const backlogNow = new Date();
      const monitorFhir = await startProcess(
        "dist/bench/fhir-child.js",
        {
          FHIR_DELAY_MS: String(MONITOR_FHIR_DELAY_MS),
          BENCH_NOW: String(backlogNow.getTime()),
          BENCH_MONITOR_PATIENTS: String(MONITOR_PATIENTS),
        },
        "FHIR server",
      );
      try {
        monitor = await benchMonitor({
          fhirUrl: `${monitorFhir.url}/fhir`,
          backlog: monitorBacklog(backlogNow, MONITOR_PATIENTS),
          patients: MONITOR_PATIENTS,
          requestDelayMs: MONITOR_FHIR_DELAY_MS,
          concurrency: MONITOR_CONCURRENCY,
          maxSeconds: 3 * MONITOR_TARGET_S,
        });
        console.log(
          `monitor: ${String(monitor.patients)} patients in ${monitor.seconds.toFixed(1)} s (${monitor.patientsPerSecond.toFixed(1)}/s)`,
        );
      } finally {
        monitorFhir.child.kill("SIGTERM");
      }
    }

    if (runs("alerts")) {
      if (!process.env.TEST_DATABASE_URL && !process.env.BENCH_DATABASE_URL) {
        try {
          stopPostgres = await startPostgres();
        } catch (err) {
          console.log(`PostgreSQL unavailable, alert bench on SQLite only: ${String(err)}`);
        }
      }
      const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
      alerts = await benchAlerts({ count: 2000, ...(pgUrl ? { postgresUrl: pgUrl } : {}) });
    }
  } finally {
    service.child.kill("SIGTERM");
    floor.child.kill("SIGTERM");
    fhirProcess.child.kill("SIGTERM");
    stopPostgres?.();
  }

  const loads = summarise(rounds);
  const serviceLoads = loads.slice(1);
  const floorLoad = loads[0];
  if (runs("patient-view") && floorLoad === undefined) throw new Error("bench: no floor figures");
  const pass = (ok: boolean) => (ok ? "PASS" : "FAIL");
  const lines: string[] = [];
  lines.push("# ln-cds benchmark results", "");
  lines.push(
    `Written by \`npm run bench\` on ${now.toISOString()}. Machine: ${cpus()[0]?.model ?? "?"}, ` +
      `${String(cpus().length)} cores, ${String(Math.round(totalmem() / 2 ** 30))} GiB RAM, Node ${process.version}, ${process.platform}. ` +
      "The machine is shared and noisy: compare the ratios, which are measured in the same run.",
    "",
  );
  if (only !== undefined) {
    lines.push(
      `BENCH_ONLY=${[...only].join(",")}: only these sections were run; bench/results.md is left as it was.`,
      "",
    );
  }
  if (runs("patient-view")) {
    lines.push(
      `## patient-view with full prefetch (autocannon, ${String(CONNECTIONS)} connections, ${String(DURATION_S)} s each, ${String(ROUNDS)} interleaved rounds, after ${String(WARM_S)} s of warm-up of every target)`,
      "",
      `Synthetic patient: ${String(resources.filter((r) => r.resourceType === "Observation").length)} Observations (37 months × 6 lab kinds), ` +
        `${String(resources.filter((r) => r.resourceType.startsWith("Medication")).length)} medication resources, iguratimod among them; "${CANDIDATE}" is that chart less its iguratimod statement and order (the eligibility rules judge nobody on iguratimod). ` +
        "Service: `node dist/src/main.js serve`, NODE_ENV=production, CDS_AUTH=off, LOG_LEVEL=warn, SQLite. " +
        '"CPU per request": the target process\'s CPU time (all threads, from /proc) over the requests it answered; it does not depend on how much of the shared machine the target got, so "floor CPU / its CPU" is the steadier view of the throughput ratio. ' +
        `Each round times the floor, then each service followed by the floor again, ${String(DURATION_S)} s each: a service's ratio in a round is to the mean of the two floor slices timed just before and just after it, so a change in the machine's load within seconds hits both sides. A figure is the median over the rounds (the floor's: of its slices in the round, then over the rounds), and a ratio is the median of the round's ratios. p99 per round in parentheses.`,
      "",
      "| target | req/s | p50 | p99 | ratio to floor | CPU per request | floor CPU / its CPU | errors / non-2xx |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const l of loads) {
      lines.push(
        `| ${l.name} | ${l.reqPerSec.toFixed(0)} | ${ms(l.p50)} | ${ms(l.p99)} (${l.p99s.map((x) => x.toFixed(0)).join(" / ")}) | ${(l.ratio * 100).toFixed(0)} % | ${ms(l.cpuMsPerRequest)} | ${(l.cpuRatio * 100).toFixed(0)} % | ${String(l.errors)} / ${String(l.non2xx)} |`,
      );
    }
  }
  if (runs("no-prefetch")) {
    lines.push(
      "",
      "## patient-view without prefetch (the service fetches from the demo FHIR server)",
      "",
    );
    lines.push(
      `50 sequential invocations per service after 3 warm-ups. The demo FHIR server (Medplum router, synthetic patient only) runs in its own process and delays every answer by ${String(FHIR_DELAY_MS)} ms (network time). Medplum's in-memory search is slow (tens of ms per Observation search even with the per-patient index, FHIRPath evaluated per resource) and single-threaded, so parallel requests queue inside it and the slowest request includes that queueing.`,
      "",
      "- **Invocation latency**: at the bench's client, node:http over a kept-alive connection, from the call to the last byte of the answer.",
      "- **Slowest FHIR request**: the longest FHIR request of the invocation as the service's HTTP client met it, from the request's creation to the last byte of its answer (node's `http.client.*` diagnostics channels, `bench/fhir-client-timing.ts`). **Added** is the invocation latency minus it: the service's own work before, between and after its FHIR requests, plus the hop from the client.",
      "- **As the FHIR server timed it**: the same, with the FHIR server's clock (from its HTTP parser's reading of the request to the answer handed to the kernel). It leaves out the wire, the FHIR server's wake-up and the reading of its answer, so it counts them as added by ln-cds; shown for comparison.",
      "- **All in parallel**: every request of an invocation reached the FHIR server before its first answer left.",
      "",
      "| service | FHIR requests / invocation | all in parallel | slowest FHIR request p50 | added over it p50 | added p99 | as the FHIR server timed it: slowest p50 / added p50 |",
      "|---|---|---|---|---|---|---|",
    );
    for (const n of nop) {
      lines.push(
        `| ${n.service} | ${String(n.fhirRequestsPerInvocation)} | ${n.allOverlapping ? "yes" : "no"} | ${ms(n.slowestFhirP50)} | ${ms(n.addedP50)} | ${ms(n.addedP99)} | ${ms(n.serverSlowestFhirP50)} / ${ms(n.serverAddedP50)} |`,
      );
    }
  }
  const auth = summarise(authRounds);
  const authFloorLoad = auth[0];
  if (runs("auth")) {
    lines.push(
      "",
      `## patient-view with authentication on (${String(AUTH_REQUESTS)} requests per target and round, ${String(CONNECTIONS)} connections, ${String(ROUNDS)} interleaved rounds)`,
      "",
      `Every request carries its own CDS Hooks JWT, ES384, with a fresh \`jti\` (signed by the bench before the round, as an EHR would; bench/auth.ts). The service runs with CDS_AUTH=on and the issuer's JWK Set URL in CDS_ISSUERS: it checks the signature, the claims and the \`jti\` against its replay table (SQLite), then answers as above, for ${AUTH_SERVICE} with its full prefetch. The floor is bare express that verifies the same JWT with jose (the same JWK Set, fetched once), parses the same body and answers \`{"cards":[]}\`. Rates are requests over the time from the first request to the last answer, timed by the bench (autocannon's own duration of a fixed amount is rounded up to whole seconds).`,
      "",
      "| target | req/s | p50 | p99 | ratio to floor | CPU per request | floor CPU / its CPU | errors / non-2xx |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const l of auth) {
      lines.push(
        `| ${l.name} | ${l.reqPerSec.toFixed(0)} | ${ms(l.p50)} | ${ms(l.p99)} (${l.p99s.map((x) => x.toFixed(0)).join(" / ")}) | ${(l.ratio * 100).toFixed(0)} % | ${ms(l.cpuMsPerRequest)} | ${(l.cpuRatio * 100).toFixed(0)} % | ${String(l.errors)} / ${String(l.non2xx)} |`,
      );
    }
  }
  if (monitor !== undefined) {
    lines.push("", "## Safety monitor: a backlog of changed patients", "");
    lines.push(
      `${String(MONITOR_PATIENTS)} patients on iguratimod, each with one new hemoglobin after the stored watermark (every tenth low enough for a warning alert), on the demo FHIR server in its own process, every answer delayed ${String(monitor.requestDelayMs)} ms. The monitor (in the bench process, SQLite) runs round after round from that watermark until it reaches the last change; MONITOR_CONCURRENCY=${String(monitor.concurrency)} FHIR requests in flight, four per patient.`,
      "",
      "| patients | FHIR delay | requests in flight | rounds | seconds | patients/s | alerts raised | drained |",
      "|---|---|---|---|---|---|---|---|",
      `| ${String(monitor.patients)} | ${String(monitor.requestDelayMs)} ms | ${String(monitor.concurrency)} | ${String(monitor.rounds)} | ${monitor.seconds.toFixed(1)} | ${monitor.patientsPerSecond.toFixed(1)} | ${String(monitor.alerts)} | ${monitor.drained ? "yes" : "no"} |`,
    );
  }
  if (runs("alerts")) {
    lines.push("", "## Safety-alert delivery worker (2000 alerts to a local receiver)", "");
    lines.push("| database | alerts | seconds | alerts/s |", "|---|---|---|---|");
    for (const a of alerts) {
      lines.push(
        `| ${a.database} | ${String(a.alerts)} | ${a.seconds.toFixed(2)} | ${a.alertsPerSecond.toFixed(0)} |`,
      );
    }
    if (!alerts.some((a) => a.database === "postgres"))
      lines.push("", "PostgreSQL: not available in this run.");
  }
  lines.push("", "## Targets", "");
  lines.push("| target | result |", "|---|---|");
  for (const l of serviceLoads) {
    lines.push(
      `| ${l.name}: ≥ ${String(THROUGHPUT_TARGET * 100)} % of the floor's throughput | ${pass(l.ratio >= THROUGHPUT_TARGET)} (${(l.ratio * 100).toFixed(0)} %; CPU view ${(l.cpuRatio * 100).toFixed(0)} %) |`,
    );
    lines.push(
      `| ${l.name}: p99 ≤ 25 ms at ${String(CONNECTIONS)} connections | ${pass(l.p99 <= 25)} (${ms(l.p99)}; the floor ${ms(floorLoad?.p99 ?? NaN)}) |`,
    );
    lines.push(
      `| ${l.name}: no errors, every answer 2xx | ${pass(l.errors === 0 && l.non2xx === 0)} |`,
    );
  }
  for (const n of nop) {
    lines.push(
      `| ${n.service} without prefetch: ≤ 5 FHIR requests, all in parallel | ${pass(n.fhirRequestsPerInvocation <= 5 && n.allOverlapping)} (${String(n.fhirRequestsPerInvocation)}) |`,
    );
    lines.push(
      `| ${n.service} without prefetch: adds ≤ 5 ms over the slowest FHIR request (p50) | ${pass(n.addedP50 <= 5)} (${ms(n.addedP50)}) |`,
    );
  }
  const authLoad = auth[1];
  if (authLoad && authFloorLoad) {
    lines.push(
      `| ${authLoad.name}: ≥ ${String(AUTH_THROUGHPUT_TARGET * 100)} % of the JWT-verifying floor | ${pass(authLoad.ratio >= AUTH_THROUGHPUT_TARGET)} (${(authLoad.ratio * 100).toFixed(0)} %; CPU view ${(authLoad.cpuRatio * 100).toFixed(0)} %) |`,
      `| ${authLoad.name}: no errors, every answer 2xx | ${pass(authLoad.errors === 0 && authLoad.non2xx === 0 && authFloorLoad.non2xx === 0)} |`,
    );
  }
  if (monitor !== undefined)
    lines.push(
      `| monitor: ${String(MONITOR_PATIENTS)} changed patients in under ${String(MONITOR_TARGET_S)} s at ${String(monitor.requestDelayMs)} ms per FHIR request, ${String(monitor.concurrency)} in flight | ${pass(monitor.drained && monitor.seconds < MONITOR_TARGET_S)} (${monitor.seconds.toFixed(1)} s, ${monitor.patientsPerSecond.toFixed(1)} patients/s) |`,
    );
  if (floorLoad !== undefined && floorLoad.p99 > 25) {
    lines.push(
      "",
      `The floor itself had a p99 of ${ms(floorLoad.p99)} in this run, above the 25 ms target: the shared machine was busy, and no service can show the target in such a run. Its CPU per request (${ms(floorLoad.cpuMsPerRequest)}) against other runs tells how busy.`,
    );
  }
  const text = lines.join("\n") + "\n";
  if (only === undefined) writeFileSync(join(root, "bench", "results.md"), text);
  console.log("\n" + text);
}

await main();
process.exit(0);
