/**
 * Puts a fhir-kit-client `Client` under the outbound policy of `safeFetch` (docs/cds-contract.md#requests-and-errors).
 *
 * Why: fhir-kit-client calls the global `fetch` itself, follows redirects to anywhere, reads any
 * response whole, and fetches absolute `next` links as given, so a FHIR server (or a forged
 * Bundle) could send us to any host. fhir-kit-client 2.0.3 offers no way to pass a fetch
 * function, so we replace the instance's `httpClient.request` (the single method every read,
 * search and `nextPage` goes through) with one that takes the library's own URL expansion and
 * header merge (accept, bearer token, custom headers) and sends the request through
 * `safeRequest`. The result keeps the library's shapes: the parsed body with hidden
 * `__response` and `__request` (WHATWG objects, built only when read: building them for every
 * search cost more than the search's own parsing), and on HTTP errors an Error with
 * `response: { status, data }`. A request signer would need the library's `Request`, so a
 * client with one is refused rather than signed wrongly.
 *
 * Pinned to fhir-kit-client 2.0.3 internals (`expandUrl`, `mergeHeaders`); test/security-
 * outbound-fhir fails loudly if an upgrade changes them.
 */
import type { Client } from "fhir-kit-client";
import { safeRequest, toResponse, type OutboundLimits, type OutboundResponse } from "./outbound.js";

interface FhirKitHttpClientInternals {
  expandUrl(url?: string): string;
  mergeHeaders(headers?: unknown): Record<string, string>;
  requestSigner?: unknown;
  request(
    method: string,
    requestUrl: string,
    options?: Record<string, unknown>,
    body?: unknown,
  ): Promise<unknown>;
}

/** Marks a client already limited, so the wrapper is never stacked. */
const limited = new WeakSet<object>();

function httpError(status: number, data: unknown, method: string, url: string): Error {
  // The shape fhir-kit-client callers already handle (error.response.status / .data).
  return Object.assign(new Error(`HTTP ${status}: ${method} ${new URL(url).origin}`), {
    response: { status, data },
  });
}

/** The body as text: UTF-8, a leading byte-order mark dropped (as `Response.text()` would). */
function bodyText(answer: OutboundResponse): string {
  const text = answer.body.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function limitFhirKitClient(client: Client, limits: OutboundLimits): Client {
  const http = (client as unknown as { httpClient: FhirKitHttpClientInternals }).httpClient;
  if (typeof http.mergeHeaders !== "function" || typeof http.expandUrl !== "function") {
    throw new Error("fhir-kit-client internals changed: cannot apply outbound limits");
  }
  if (http.requestSigner !== undefined) {
    throw new Error("a fhir-kit-client request signer cannot be used under the outbound limits");
  }
  if (limited.has(http)) return client;
  limited.add(http);

  http.request = async (method, requestUrl, options = {}, body) => {
    const url = http.expandUrl(requestUrl);
    const headers = http.mergeHeaders(options.headers);
    const sent =
      body === undefined || method === "GET" || method === "HEAD"
        ? undefined
        : typeof body === "string"
          ? body
          : JSON.stringify(body);
    const answer = await safeRequest(
      url,
      {
        method,
        headers,
        ...(sent !== undefined ? { body: sent } : {}),
        ...(options.signal instanceof AbortSignal ? { signal: options.signal } : {}),
      },
      limits,
    );
    const text = bodyText(answer);
    let data: unknown = {};
    if (text !== "") {
      try {
        data = JSON.parse(text) as unknown;
      } catch {
        throw httpError(answer.status, undefined, method, url);
      }
    }
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok) throw httpError(answer.status, data, method, url);
    if (typeof data === "object" && data !== null) {
      let response: Response | undefined;
      Object.defineProperty(data, "__response", {
        enumerable: false,
        get: () => (response ??= toResponse(answer)),
      });
      let request: Request | undefined;
      Object.defineProperty(data, "__request", {
        enumerable: false,
        get: () =>
          (request ??= new Request(url, {
            method,
            headers,
            ...(sent !== undefined ? { body: sent } : {}),
          })),
      });
    }
    return data;
  };
  return client;
}
