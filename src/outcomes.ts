/**
 * Errors that answer a client, as FHIR OperationOutcomes (docs/cds-contract.md#requests-and-errors).
 *
 * One error type carries the HTTP status, the OperationOutcome and any headers; code anywhere in
 * the service (the CDS Hooks runtime, the routes, the middleware) throws it through the small
 * factories below. Only src/http turns it into a response (src/http/errors.ts), so this module
 * knows nothing of express.
 */
import type { OperationOutcome, OperationOutcomeIssue } from "fhir/r4.js";

export type IssueCode = OperationOutcomeIssue["code"];

export class OperationOutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(outcome.issue.map((i) => i.diagnostics ?? i.code).join("; "));
    this.name = "OperationOutcomeError";
  }
}

/** One error issue; `expression` is the FHIRPath-ish location of the problem, e.g. "context.patientId". */
export function outcome(
  code: IssueCode,
  diagnostics?: string,
  expression?: readonly string[],
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity: "error", code };
  if (diagnostics !== undefined && diagnostics !== "") issue.diagnostics = diagnostics;
  if (expression !== undefined && expression.length > 0) issue.expression = [...expression];
  return { resourceType: "OperationOutcome", issue: [issue] };
}

/**
 * 400: the request is wrong. `expression` locates the problem ("context.patientId"); `code` is
 * "invalid" unless the fault is the JSON itself ("structure") or its cost ("too-costly").
 */
export function badRequest(
  message: string,
  expression?: string,
  code: "invalid" | "structure" | "too-costly" = "invalid",
): OperationOutcomeError {
  return new OperationOutcomeError(
    400,
    outcome(code, message, expression ? [expression] : undefined),
  );
}

/** 400 with one issue per problem (a schema failure can have several). */
export function badRequestIssues(
  issues: ReadonlyArray<{ message: string; expression?: string }>,
): OperationOutcomeError {
  return new OperationOutcomeError(400, {
    resourceType: "OperationOutcome",
    issue: issues.map((i) => ({
      severity: "error",
      code: "invalid",
      diagnostics: i.message,
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  });
}

/**
 * 401: no credentials, or credentials that do not hold. Bare by default: a CDS client is told
 * only to authenticate, never which check failed. `challenge` is the WWW-Authenticate value.
 */
export function unauthorized(message?: string, challenge = "Bearer"): OperationOutcomeError {
  return new OperationOutcomeError(401, outcome("login", message), {
    "WWW-Authenticate": challenge,
  });
}

/** 403: the caller is known (or the origin is), and not allowed this. */
export function forbidden(message: string): OperationOutcomeError {
  return new OperationOutcomeError(403, outcome("forbidden", message));
}

export function notFound(message = "not found"): OperationOutcomeError {
  return new OperationOutcomeError(404, outcome("not-found", message));
}

/** 412: data a service requires could not be had (CDS Hooks 2.0 prefetch rules). Names the key. */
export function preconditionFailed(message: string, key: string): OperationOutcomeError {
  return new OperationOutcomeError(412, outcome("incomplete", message, [`prefetch.${key}`]));
}

export function payloadTooLarge(message = "the request body is too large"): OperationOutcomeError {
  return new OperationOutcomeError(413, outcome("too-costly", message));
}

export function unsupportedMediaType(
  message = "the request body must be application/json",
): OperationOutcomeError {
  return new OperationOutcomeError(415, outcome("not-supported", message));
}

export function tooManyRequests(
  message = "too many requests",
  retryAfterSeconds = 1,
): OperationOutcomeError {
  return new OperationOutcomeError(429, outcome("throttled", message), {
    "Retry-After": String(retryAfterSeconds),
  });
}

/**
 * 503: the service cannot answer now; "transient" when a dependency (database, key set) is down,
 * "timeout" when the request ran out of time. A retry later may succeed.
 */
export function serviceUnavailable(
  message: string,
  code: "transient" | "timeout" = "transient",
  headers: Readonly<Record<string, string>> = {},
): OperationOutcomeError {
  return new OperationOutcomeError(503, outcome(code, message), headers);
}

export function serverError(message = "internal error"): OperationOutcomeError {
  return new OperationOutcomeError(500, outcome("exception", message));
}
