/**
 * Every setting of ln-cds, read once from the environment and checked with zod.
 *
 * Each entry of `settingDocs` is the documentation of one variable (the README's configuration
 * table is generated from the same words). A bad value stops start-up with one line that names
 * the variable: see `ConfigError`.
 */
import { THRESHOLD_NAMES } from "./clinical/thresholds.js";
import { z } from "zod";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`config: ${variable}: ${reason}`);
    this.name = "ConfigError";
  }
}

/** A comma-separated list of http(s) origins, e.g. "http://127.0.0.1:8090,https://fhir.example.org". */
const originList = z.string().transform((raw, ctx) => {
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const origins: string[] = [];
  for (const item of items) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      ctx.addIssue({ code: "custom", message: `"${item}" is not a URL` });
      return z.NEVER;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: `"${item}" must be http or https` });
      return z.NEVER;
    }
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "") {
      ctx.addIssue({
        code: "custom",
        message: `"${item}" must be an origin only (scheme://host[:port]), without path, query or credentials`,
      });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

const boolean = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();
const port = z.coerce.number().int().min(0).max(65535);

const webhook = z.object({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(16, "a webhook secret needs at least 16 characters"),
});

const issuer = z
  .object({
    /** This issuer's pinned JWKS URL: its only key set (a token's `jku` is then ignored). */
    jwks_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Allowed `jku` URLs (exact match) for this issuer, when it sends keys by `jku`. */
    jku: z.array(z.url({ protocol: /^https?$/ })).optional(),
    /** When set, the token's `tenant` claim must equal it. */
    tenant: z.string().min(1).optional(),
  })
  .refine((i) => i.jwks_url !== undefined || (i.jku !== undefined && i.jku.length > 0), {
    message: "each issuer needs a jwks_url or a non-empty jku list",
  });

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((raw, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({
          code: "custom",
          message: `${issue.path.length > 0 ? issue.path.join(".") + ": " : ""}${issue.message}`,
        });
      }
      return z.NEVER;
    }
    return result.data as z.infer<T>;
  });

/** Name → [schema with default, one-line documentation]. */
const settings = {
  PORT: [port.default(8080), "TCP port the service listens on."],
  HOST: [z.string().min(1).default("127.0.0.1"), "Interface to bind; 0.0.0.0 in containers."],
  DEMO_FHIR_PORT: [
    port.default(8090),
    "`demo` only: port of its embedded demo FHIR server (any free port when taken).",
  ],
  PUBLIC_BASE_URL: [
    z.url({ protocol: /^https?$/ }).optional(),
    "Base URL as EHRs see it (JWT `aud` = this + path). Default http://HOST:PORT.",
  ],
  NODE_ENV: [z.enum(["development", "production", "test"]).default("production"), "Run mode."],
  LOG_LEVEL: [
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    "pino log level.",
  ],
  CDS_AUTH: [
    z.enum(["on", "off"]).default("on"),
    "`off` disables CDS Hooks JWT checks: loopback demos only, warned at every start.",
  ],
  CDS_ISSUERS: [
    jsonOf(z.record(z.string().min(1), issuer)).default({}),
    'JSON: { "<iss>": { "jwks_url"?: url, "jku"?: [url], "tenant"?: string } }.',
  ],
  JWT_MAX_BYTES: [positiveInt.default(8192), "Largest accepted bearer token, in bytes."],
  JWT_CLOCK_SKEW_SECONDS: [
    z.coerce.number().int().min(0).default(60),
    "Skew allowed on exp/iat/nbf.",
  ],
  JWT_MAX_LIFETIME_SECONDS: [
    positiveInt.default(3600),
    "Longest accepted JWT lifetime (exp − iat), in seconds; longer-lived tokens are refused (401).",
  ],
  JWKS_REFRESH_MIN_INTERVAL_MS: [
    z.coerce.number().int().min(0).default(30_000),
    "Least time between two JWKS refreshes caused by an unknown kid, per issuer.",
  ],
  TRUST_PROXY_HOPS: [
    z.coerce.number().int().min(0).max(10).default(0),
    "Reverse proxies in front of the service whose X-Forwarded-For names the client address (for the rate limit). 0: the socket's address.",
  ],
  RATE_LIMIT_PER_MINUTE: [
    z.coerce.number().int().min(0).default(600),
    "Requests per minute per client address, counted before authentication (0 = no limit); 429 beyond.",
  ],
  OPERATOR_TOKEN_SHA256: [
    z
      .string()
      .regex(/^[0-9a-f]{64}$/i, "must be the hex SHA-256 of the operator token")
      .optional(),
    "Hex SHA-256 of the bearer token for the operator API (/alerts). Unset: operator API refused.",
  ],
  CORS_ORIGINS: [
    originList.default([]),
    "Comma-separated browser origins allowed by CORS (e.g. an EHR sandbox). Empty: none.",
  ],
  FHIR_SERVER_ALLOWLIST: [
    originList.default([]),
    "Comma-separated origins of FHIR servers the service may call. Others count as unreachable.",
  ],
  FHIR_TIMEOUT_MS: [positiveInt.default(2500), "Timeout of one FHIR HTTP request."],
  FHIR_MAX_RESPONSE_BYTES: [positiveInt.default(20_000_000), "Largest FHIR response body read."],
  PREFETCH_BUDGET_MS: [
    positiveInt.default(3000),
    "Total time to fetch every missing prefetch key (all keys run in parallel).",
  ],
  PREFETCH_MAX_PAGES: [positiveInt.default(20), "Most `next` pages followed per search."],
  PREFETCH_MAX_RESOURCES: [positiveInt.default(5000), "Most resources read per search."],
  REQUEST_TIMEOUT_MS: [positiveInt.default(10_000), "Time limit of one incoming request."],
  BODY_LIMIT_BYTES: [positiveInt.default(1_048_576), "Largest request body (413 beyond)."],
  DATABASE_URL: [
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
      .optional(),
    "PostgreSQL URL. Unset: SQLite in SQLITE_PATH.",
  ],
  PG_STATEMENT_TIMEOUT_MS: [
    z.coerce.number().int().min(100).max(600_000).default(30_000),
    "Longest a PostgreSQL statement may run or wait for a lock before the database cancels it (frees its connection).",
  ],
  SQLITE_PATH: [
    z.string().min(1).default("./data/ln-cds.sqlite"),
    "SQLite file when no DATABASE_URL.",
  ],
  SQLITE_BUSY_TIMEOUT_MS: [
    z.coerce.number().int().min(0).max(10_000).default(200),
    "Longest wait for a SQLite write lock held by another process; the whole service waits with it.",
  ],
  ALERT_SPOOL_PATH: [
    z.string().min(1).optional(),
    "Local file where safety alerts wait while the database cannot take them (one per process). Unset: `alert-spool.jsonl` beside SQLITE_PATH.",
  ],
  CLINICAL_THRESHOLDS: [
    jsonOf(z.partialRecord(z.enum(THRESHOLD_NAMES), z.number().nonnegative())).default({}),
    "JSON `{name: value}` replacing clinical thresholds of `src/clinical/thresholds.ts` (same units). Unknown names are refused.",
  ],
  ELIGIBILITY_SHOW_ALL: [
    boolean.default(false),
    "`true`: the eligibility service also shows not-eligible and insufficient-data verdicts.",
  ],
  SAFETY_WEBHOOKS: [
    jsonOf(z.array(webhook)).default([]),
    'JSON: [{ "url": ..., "secret": ... }] safety-team receivers (origins must be in WEBHOOK_ALLOWLIST).',
  ],
  WEBHOOK_ALLOWLIST: [originList.default([]), "Comma-separated origins webhooks may be sent to."],
  WEBHOOK_TIMEOUT_MS: [positiveInt.default(5000), "Timeout of one webhook POST."],
  WEBHOOK_BACKOFF_BASE_MS: [positiveInt.default(1000), "First retry delay; doubles each attempt."],
  WEBHOOK_BACKOFF_MAX_MS: [positiveInt.default(300_000), "Longest retry delay."],
  WEBHOOK_MAX_AGE_HOURS: [
    z.coerce.number().positive().default(72),
    "Age at which a row is dead-lettered.",
  ],
  WORKER_POLL_MS: [positiveInt.default(500), "How often the delivery worker looks for due rows."],
  MONITOR_INTERVAL: [
    z.coerce.number().int().positive().optional(),
    "Seconds between monitor polls while serving. Unset: no monitor in `serve`.",
  ],
  MONITOR_FHIR_SERVER: [
    z.url({ protocol: /^https?$/ }).optional(),
    "FHIR base URL the monitor polls.",
  ],
  MONITOR_FHIR_TOKEN: [
    z
      .string()
      .regex(/^[\x21-\x7e]+$/, "must be visible ASCII characters (it goes into an HTTP header)")
      .optional(),
    "Bearer token for MONITOR_FHIR_SERVER.",
  ],
  MONITOR_CONCURRENCY: [
    positiveInt.default(20),
    "Most FHIR requests the monitor has in flight at once (patients are evaluated in parallel).",
  ],
} as const;

type Settings = typeof settings;
export type Config = {
  readonly [K in keyof Settings]: z.output<Settings[K][0]>;
} & { readonly publicBaseUrl: string };

export const settingDocs: ReadonlyArray<{ name: string; doc: string }> = Object.entries(
  settings,
).map(([name, [, doc]]) => ({ name, doc }));

/**
 * Parse the environment. Throws `ConfigError` naming the first bad variable.
 * Empty strings count as unset, so `FOO=` falls back to the default.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const out: Record<string, unknown> = {};
  for (const [name, [schema]] of Object.entries(settings)) {
    const raw = env[name];
    const value = raw === undefined || raw.trim() === "" ? undefined : raw;
    const result = (schema as z.ZodType).safeParse(value);
    if (!result.success) {
      const first = result.error.issues[0];
      throw new ConfigError(name, first?.message ?? "invalid value");
    }
    out[name] = result.data;
  }
  const cfg = out as Omit<Config, "publicBaseUrl">;
  const hostForUrl = cfg.HOST === "0.0.0.0" || cfg.HOST === "::" ? "127.0.0.1" : cfg.HOST;
  const publicBaseUrl = (cfg.PUBLIC_BASE_URL ?? `http://${hostForUrl}:${cfg.PORT}`).replace(
    /\/+$/,
    "",
  );
  return { ...cfg, publicBaseUrl };
}

/** Config for tests and embedded use: defaults plus overrides, without reading process.env. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  // No request limit unless a test sets one: tests send thousands of requests from one address.
  return loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    CDS_AUTH: "off",
    RATE_LIMIT_PER_MINUTE: "0",
    ...env,
  });
}
