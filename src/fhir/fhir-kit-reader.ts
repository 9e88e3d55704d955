/**
 * FhirReader over fhir-kit-client. Every request goes through `limitFhirKitClient` (src/net),
 * which applies the outbound policy: only the allow-listed origin of this FHIR server, no
 * redirect to another origin, a response size cap and a timeout (FHIR_TIMEOUT_MS).
 * The fetch options live here and in src/net only, so hardening them touches one place.
 */
import type { Bundle, FhirResource } from "fhir/r4.js";
import { Client } from "fhir-kit-client";
import { limitFhirKitClient } from "../net/fhir-kit-limits.js";
import { collectPages, type FhirReader, type PagingLimits, type SearchResult } from "./reader.js";

export interface FhirKitReaderOptions {
  /** The request's `fhirServer` (already checked against FHIR_SERVER_ALLOWLIST by the caller). */
  readonly baseUrl: string;
  /** `fhirAuthorization.access_token`, or undefined to call without a token. */
  readonly accessToken?: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly paging: PagingLimits;
}

/** The server answered with an HTTP error status (fhir-kit-client's error shape). */
function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  return typeof status === "number" ? status : undefined;
}

function asBundle(value: unknown): Bundle {
  if (
    typeof value === "object" &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === "Bundle"
  ) {
    return value as Bundle;
  }
  throw new Error("the FHIR server did not answer a search with a Bundle");
}

/**
 * A relative FHIR URL whose path has a "." or ".." segment (also percent-encoded) would reach
 * another path than the one built (the server base, every Patient): refused before any request.
 */
export function assertPathStaysPut(relativeUrl: string): void {
  const path = relativeUrl.split("?", 1)[0] ?? "";
  const climbs = path.split("/").some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
  if (climbs || /^[a-z][a-z0-9+.-]*:|^\/\//i.test(path))
    throw new Error("a FHIR URL whose path would leave the resource it names was refused");
}

export function createFhirKitReader(options: FhirKitReaderOptions): FhirReader {
  const origin = new URL(options.baseUrl).origin;
  const client = new Client({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    customHeaders: { Accept: "application/fhir+json" },
    ...(options.accessToken !== undefined ? { bearerToken: options.accessToken } : {}),
  });
  // Only the request's own FHIR server, even if other origins are allow-listed: a `next` link
  // to elsewhere is refused (the allow-list says whom we call, not whom a server may send us to).
  limitFhirKitClient(client, {
    allowlist: [origin],
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
  });

  const get = async (url: string, signal: AbortSignal): Promise<unknown> =>
    client.request(url, { options: { signal } });

  const pages = (first: Bundle, signal: AbortSignal): Promise<SearchResult> =>
    collectPages(first, async (url) => asBundle(await get(url, signal)), options.paging);

  return {
    async search(relativeUrl, signal) {
      assertPathStaysPut(relativeUrl);
      return pages(asBundle(await get(relativeUrl, signal)), signal);
    },
    async read(relativeUrl, signal) {
      assertPathStaysPut(relativeUrl);
      try {
        return (await get(relativeUrl, signal)) as FhirResource;
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === 404 || status === 410) return undefined;
        throw error;
      }
    },
    continueBundle(first, signal) {
      return pages(first, signal);
    },
  };
}
