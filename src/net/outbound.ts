/**
 * The one way ln-cds calls another server: JWKS, FHIR servers and safety-team webhooks.
 *
 * Why one guarded way out: a CDS request names URLs (`fhirServer`, `next` links, `jku`), and
 * a service that fetches whatever it is told becomes a proxy into the hospital network (SSRF).
 * docs/cds-contract.md#requests-and-errors: only allow-listed origins, no redirect to another origin, request and response size
 * limits, a timeout. Every refusal happens before a socket is opened and is a typed error, so a
 * caller can answer "unreachable" (412) instead of guessing from message text.
 *
 * Transport: node:http/https with keep-alive agents, not the global `fetch`. Profiled on the
 * no-prefetch path (four FHIR searches, one of 137 KB, against a static server), undici's WHATWG
 * fetch, its stream reader, the `Response` rebuilt around the capped body and `Response.text()`
 * were the largest items; moving to node:http cut the service's CPU per invocation from about
 * 11 to 8-9 ms on this machine. `safeFetch` keeps the `Response` shape for the JWKS loader;
 * the FHIR reader and the webhook worker use `safeRequest`.
 */
import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import zlib from "node:zlib";

export type OutboundRefusalReason =
  | "bad-url"
  | "origin-not-allowed"
  | "redirect-refused"
  | "request-too-large"
  | "response-too-large";

/** The request was not made (or its answer not read) because a policy forbids it. */
export class OutboundRefused extends Error {
  constructor(
    readonly reason: OutboundRefusalReason,
    /** Origin (never a full URL: paths and queries can carry patient ids) of the refused target. */
    readonly origin: string | undefined,
  ) {
    super(`outbound request refused: ${reason}${origin ? ` (${origin})` : ""}`);
    this.name = "OutboundRefused";
  }
}

/** The remote server did not answer (headers and body) within the time limit. */
export class OutboundTimeout extends Error {
  constructor(
    readonly origin: string,
    readonly timeoutMs: number,
  ) {
    super(`outbound request to ${origin} timed out after ${timeoutMs} ms`);
    this.name = "OutboundTimeout";
  }
}

export interface OutboundLimits {
  /** Origins (scheme://host[:port]) that may be called. Anything else is refused before any socket. */
  readonly allowlist: readonly string[];
  /** Whole exchange, headers and body, in milliseconds. */
  readonly timeoutMs: number;
  /** Largest response body read, in bytes (after content decoding, so a zip bomb is cut off too). */
  readonly maxResponseBytes: number;
  /** Largest request body sent, in bytes. Unset: no limit. */
  readonly maxRequestBytes?: number;
}

/** Normalise one allow-list entry or URL to its origin; undefined when it is not an http(s) URL. */
export function originOf(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  return parsed.origin;
}

/** True when `url` is an http(s) URL without credentials whose origin is on the allow-list. */
export function isAllowedUrl(url: string | URL, allowlist: readonly string[]): boolean {
  return checkTarget(url, allowlist) === undefined;
}

function checkTarget(url: string | URL, allowlist: readonly string[]): OutboundRefused | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return new OutboundRefused("bad-url", undefined);
  }
  const origin = originOf(parsed);
  // Credentials in a URL would be sent to the server and written to its logs; no caller needs them.
  if (origin === undefined || parsed.username !== "" || parsed.password !== "") {
    return new OutboundRefused("bad-url", undefined);
  }
  const allowed = allowlist.some((entry) => originOf(entry) === origin);
  return allowed ? undefined : new OutboundRefused("origin-not-allowed", origin);
}

function bodyBytes(body: OutboundInit["body"]): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
}

/** A request the outbound policy can size before sending: the body is bytes, never a stream. */
export interface OutboundInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Aborts the exchange (the caller gave up); the timeout of the limits applies as well. */
  readonly signal?: AbortSignal;
}

/** A complete answer: the body is fully read (at most `maxResponseBytes`) and decoded. */
export interface OutboundResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// One pool per scheme for the life of the process: a FHIR server answering several searches per
// hook is reached over the same few connections instead of a TCP (and TLS) handshake each time.
// Idle sockets are unref'd by node, so they never keep the process alive.
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 }),
};

class AbortedByCaller extends Error {
  constructor() {
    super("outbound request aborted by the caller");
    this.name = "AbortError";
  }
}

/**
 * One exchange, no redirect handling. `deadline` is shared by a redirect's two hops.
 * A GET whose reused keep-alive socket was closed by the server before our request reached it
 * is retried once on a fresh socket (the server never saw it, so this cannot repeat an effect).
 */
function exchange(
  target: URL,
  init: OutboundInit,
  body: Buffer,
  limits: OutboundLimits,
  deadline: number,
  retried = false,
): Promise<OutboundResponse> {
  const origin = target.origin;
  const method = (init.method ?? "GET").toUpperCase();
  return new Promise<OutboundResponse>((resolve, reject) => {
    const headers: Record<string, string> = {
      "accept-encoding": "gzip, deflate, br",
      ...init.headers,
    };
    if (body.length > 0 || (method !== "GET" && method !== "HEAD")) {
      headers["content-length"] = String(body.length);
    }
    const transport = target.protocol === "https:" ? https : http;
    // The request is made before anything is armed: node throws synchronously on a header it
    // cannot send (a token with a newline, a character above U+00FF), and a timer or listener set
    // up before that throw would outlive the exchange and fire into a request that never existed.
    let req: http.ClientRequest;
    try {
      req = transport.request(target, {
        method,
        headers,
        agent: agents[target.protocol === "https:" ? "https:" : "http:"],
      });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const finish = (error: Error | undefined, value?: OutboundResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      init.signal?.removeEventListener("abort", onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else if (value) resolve(value);
    };
    const onAbort = (): void => {
      finish(new AbortedByCaller());
    };
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (
        !settled &&
        !retried &&
        req.reusedSocket &&
        error.code === "ECONNRESET" &&
        (method === "GET" || method === "HEAD")
      ) {
        settled = true;
        clearTimeout(timer);
        init.signal?.removeEventListener("abort", onAbort);
        exchange(target, init, body, limits, deadline, true).then(resolve, reject);
        return;
      }
      finish(error);
    });
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const answer = (data: Buffer): void => {
        finish(undefined, {
          status,
          statusText: res.statusMessage ?? "",
          headers: res.headers,
          body: data,
        });
      };
      if (REDIRECT_STATUSES.has(status) || method === "HEAD") {
        res.resume();
        answer(Buffer.alloc(0));
        return;
      }
      const declared = Number(res.headers["content-length"] ?? "NaN");
      if (Number.isFinite(declared) && declared > limits.maxResponseBytes) {
        finish(new OutboundRefused("response-too-large", origin));
        return;
      }
      readBody(res, limits.maxResponseBytes, origin).then(answer, (error: unknown) => {
        finish(error instanceof Error ? error : new Error(String(error)));
      });
    });
    if (init.signal?.aborted) {
      onAbort();
      return;
    }
    init.signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(
      () => {
        finish(new OutboundTimeout(origin, limits.timeoutMs));
      },
      Math.max(0, deadline - Date.now()),
    );
    try {
      req.end(body.length > 0 ? body : undefined);
    } catch (error) {
      finish(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/** The decoded body, cut off (refused) as soon as it grows past `maxBytes`, a zip bomb included. */
function readBody(res: IncomingMessage, maxBytes: number, origin: string): Promise<Buffer> {
  const encoding = (res.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  let stream: NodeJS.ReadableStream = res;
  if (encoding === "gzip" || encoding === "x-gzip") stream = res.pipe(zlib.createGunzip());
  else if (encoding === "deflate") stream = res.pipe(zlib.createInflate());
  else if (encoding === "br") stream = res.pipe(zlib.createBrotliDecompress());
  else if (encoding !== "identity" && encoding !== "") {
    res.resume();
    return Promise.reject(new Error(`unsupported content-encoding from ${origin}`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const fail = (error: Error): void => {
      if (stream !== res) (stream as zlib.Gunzip).destroy();
      res.destroy();
      reject(error);
    };
    stream.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        fail(new OutboundRefused("response-too-large", origin));
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => {
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    });
    stream.on("error", fail);
    res.on("close", () => {
      if (!res.complete) {
        fail(new Error(`the connection to ${origin} closed before the answer was complete`));
      }
    });
  });
}

/**
 * A request with the outbound policy applied; the answer's body is complete and decoded.
 *
 * Redirects: never followed to another origin (`OutboundRefused("redirect-refused")`, and the
 * other origin sees no request). One same-origin redirect of a GET/HEAD is followed, re-checked.
 */
export async function safeRequest(
  url: string | URL,
  init: OutboundInit,
  limits: OutboundLimits,
): Promise<OutboundResponse> {
  const refusal = checkTarget(url, limits.allowlist);
  if (refusal) throw refusal;
  const target = new URL(url);
  const origin = target.origin;
  const body = bodyBytes(init.body);
  if (limits.maxRequestBytes !== undefined && body.length > limits.maxRequestBytes) {
    throw new OutboundRefused("request-too-large", origin);
  }
  const method = (init.method ?? "GET").toUpperCase();
  const deadline = Date.now() + limits.timeoutMs;

  const first = await exchange(target, init, body, limits, deadline);
  if (!REDIRECT_STATUSES.has(first.status)) return first;
  const next = redirectTarget(first.headers.location, target);
  // Another origin is never followed, even if that origin is itself allow-listed: the
  // allow-list says whom we call, not whom a server may send us to.
  if (next === undefined || next.origin !== origin || (method !== "GET" && method !== "HEAD")) {
    throw new OutboundRefused("redirect-refused", origin);
  }
  const again = checkTarget(next, limits.allowlist);
  if (again) throw again;
  const second = await exchange(next, init, body, limits, deadline);
  if (REDIRECT_STATUSES.has(second.status)) throw new OutboundRefused("redirect-refused", origin);
  return second;
}

function redirectTarget(location: string | undefined, base: URL): URL | undefined {
  if (location === undefined) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** Request headers as a plain object (lower-case names), from any `HeadersInit`. */
export function plainHeaders(init: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * `safeRequest` with a WHATWG `Response` around the complete body, for callers that want
 * `.ok` / `.json()`. The body must be a string or bytes (a stream could not be sized).
 */
export async function safeFetch(
  url: string | URL,
  init: Omit<RequestInit, "body"> & { body?: string | Uint8Array },
  limits: OutboundLimits,
): Promise<Response> {
  const answer = await safeRequest(
    url,
    {
      ...(init.method !== undefined ? { method: init.method } : {}),
      headers: plainHeaders(init.headers),
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    },
    limits,
  );
  return toResponse(answer);
}

/** A WHATWG `Response` of a complete answer (framing and encoding headers dropped: the body is decoded). */
export function toResponse(answer: OutboundResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    if (name === "content-encoding" || name === "content-length" || name === "transfer-encoding")
      continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const nullBody = answer.status === 204 || answer.status === 304 || answer.status < 200;
  return new Response(nullBody ? null : answer.body, {
    status: answer.status,
    statusText: answer.statusText,
    headers,
  });
}
