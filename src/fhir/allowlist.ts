/**
 * The FHIR server allow-list (docs/cds-contract.md#requests-and-errors): `fhirServer` is used
 * only if its origin is on `FHIR_SERVER_ALLOWLIST`; any other server is treated as unreachable.
 * Matching is by exact origin (scheme, host and port), never by prefix or suffix of a string.
 */
import { isAllowedUrl, originOf } from "../net/outbound.js";

/** True when `url` is an http(s) URL, without credentials, whose origin is on the allow-list. */
export function isAllowedOrigin(url: string, allowlist: readonly string[]): boolean {
  return isAllowedUrl(url, allowlist);
}

export { originOf };
