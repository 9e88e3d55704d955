/**
 * The one way ln-cds calls another server: JWKS, FHIR servers and safety-team webhooks.
 *
 * Why a wrapper around `fetch`: a CDS request names URLs (`fhirServer`, `next` links, `jku`), and
 * a service that fetches whatever it is told becomes a proxy into the hospital network (SSRF).
 * Issue 5 §4: only allow-listed origins, no redirect to another origin, request and response size
 * limits, a timeout. Every refusal happens before a socket is opened and is a typed error, so a
 * caller can answer "unreachable" (412) instead of guessing from message text.
 */

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

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

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

function bodyByteLength(body: RequestInit["body"]): number | undefined {
  if (body === undefined || body === null) return 0;
  if (typeof body === "string") return Buffer.byteLength(body, "utf8");
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof URLSearchParams) return Buffer.byteLength(body.toString(), "utf8");
  if (body instanceof Blob) return body.size;
  return undefined; // a stream or FormData: length unknown before sending
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * `fetch` with the outbound policy applied. Returns a Response whose body is already fully read
 * (at most `maxResponseBytes`), so callers may use `.json()` / `.text()` as usual.
 *
 * Redirects: never followed to another origin (`OutboundRefused("redirect-refused")`, and the
 * other origin sees no request). One same-origin redirect of a GET/HEAD is followed, re-checked.
 */
export async function safeFetch(
  url: string | URL,
  init: RequestInit = {},
  limits: OutboundLimits,
  fetchImpl: FetchFn = fetch,
): Promise<Response> {
  const refusal = checkTarget(url, limits.allowlist);
  if (refusal) throw refusal;
  const target = new URL(url);
  const origin = target.origin;

  if (limits.maxRequestBytes !== undefined) {
    const size = bodyByteLength(init.body);
    if (size === undefined || size > limits.maxRequestBytes) {
      throw new OutboundRefused("request-too-large", origin);
    }
  }

  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  const method = (init.method ?? "GET").toUpperCase();

  try {
    let response = await fetchImpl(target, { ...init, redirect: "manual", signal });
    if (REDIRECT_STATUSES.has(response.status)) {
      const next = redirectTarget(response, target);
      await response.body?.cancel().catch(() => undefined);
      // Another origin is never followed, even if that origin is itself allow-listed: the
      // allow-list says whom we call, not whom a server may send us to.
      if (next === undefined || next.origin !== origin || (method !== "GET" && method !== "HEAD")) {
        throw new OutboundRefused("redirect-refused", origin);
      }
      const again = checkTarget(next, limits.allowlist);
      if (again) throw again;
      response = await fetchImpl(next, { ...init, redirect: "manual", signal });
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        throw new OutboundRefused("redirect-refused", origin);
      }
    }
    return await readCapped(response, limits.maxResponseBytes, origin);
  } catch (error) {
    if (timeout.aborted && !(error instanceof OutboundRefused)) {
      throw new OutboundTimeout(origin, limits.timeoutMs);
    }
    throw error;
  }
}

function redirectTarget(response: Response, base: URL): URL | undefined {
  const location = response.headers.get("location");
  if (location === null) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

async function readCapped(response: Response, maxBytes: number, origin: string): Promise<Response> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new OutboundRefused("response-too-large", origin);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new OutboundRefused("response-too-large", origin);
      }
      chunks.push(value);
    }
  }
  const headers = new Headers(response.headers);
  // The body handed on is already decoded and complete; stale framing headers would mislead.
  headers.delete("content-encoding");
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  const nullBody = response.status === 204 || response.status === 304 || response.status < 200;
  return new Response(nullBody ? null : Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
