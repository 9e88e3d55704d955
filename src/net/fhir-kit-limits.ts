/**
 * Puts a fhir-kit-client `Client` under the outbound policy of `safeFetch` (issue 5 §4).
 *
 * Why: fhir-kit-client calls the global `fetch` itself, follows redirects to anywhere, reads any
 * response whole, and fetches absolute `next` links as given, so a FHIR server (or a forged
 * Bundle) could send us to any host. fhir-kit-client 2.0.3 offers no way to pass a fetch
 * function, so we replace the instance's `httpClient.request` (the single method every read,
 * search and `nextPage` goes through) with one that builds the request the library's own way
 * (headers, bearer token, signer) and sends it through `safeFetch`. The result keeps the
 * library's shapes: the parsed body with hidden `__response`/`__request`, and on HTTP errors
 * an Error with `response: { status, data }`.
 *
 * Pinned to fhir-kit-client 2.0.3 internals (`buildRequest`); test/security-outbound-fhir
 * fails loudly if an upgrade changes them.
 */
import type { Client } from "fhir-kit-client";
import { safeFetch, type FetchFn, type OutboundLimits } from "./outbound.js";

interface FhirKitHttpClientInternals {
  expandUrl(url?: string): string;
  buildRequest(
    method: string,
    url: string,
    options: Record<string, unknown>,
    body?: unknown,
  ): Promise<Request>;
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

export function limitFhirKitClient(
  client: Client,
  limits: OutboundLimits,
  fetchImpl?: FetchFn,
): Client {
  const http = (client as unknown as { httpClient: FhirKitHttpClientInternals }).httpClient;
  if (typeof http.buildRequest !== "function" || typeof http.expandUrl !== "function") {
    throw new Error("fhir-kit-client internals changed: cannot apply outbound limits");
  }
  if (limited.has(http)) return client;
  limited.add(http);

  http.request = async (method, requestUrl, options = {}, body) => {
    const url = http.expandUrl(requestUrl);
    const req = await http.buildRequest(method, url, options, body);
    const hasBody = method !== "GET" && method !== "HEAD" && req.body !== null;
    const response = await safeFetch(
      url,
      {
        method,
        headers: req.headers,
        ...(hasBody ? { body: await req.text() } : {}),
        ...(options.signal instanceof AbortSignal ? { signal: options.signal } : {}),
      },
      limits,
      fetchImpl,
    );
    const text = await response.text();
    let data: unknown = {};
    if (text !== "") {
      try {
        data = JSON.parse(text) as unknown;
      } catch {
        throw httpError(response.status, undefined, method, url);
      }
    }
    if (!response.ok) throw httpError(response.status, data, method, url);
    if (typeof data === "object" && data !== null) {
      Object.defineProperty(data, "__response", {
        writable: false,
        enumerable: false,
        value: response,
      });
      Object.defineProperty(data, "__request", { writable: false, enumerable: false, value: req });
    }
    return data;
  };
  return client;
}
