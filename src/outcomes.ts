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

export function badRequest(message: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(
    400,
    outcome("invalid", message, expression ? [expression] : undefined),
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

export function serverError(message = "internal error"): OperationOutcomeError {
  return new OperationOutcomeError(500, outcome("exception", message));
}
