/**
 * Errors to clients are FHIR OperationOutcome bodies (cds-contract.md "Requests and errors").
 *
 * One error type carries the status and the OperationOutcome; routes throw it through small
 * factories, and one error middleware turns it (or anything unexpected) into the response.
 * Never a stack trace; an unexpected error is logged (with the error, no patient data) and the
 * client gets a bare 500 "internal error".
 */
import type { ErrorRequestHandler } from "express";
import type { OperationOutcome, OperationOutcomeIssue } from "fhir/r4.js";
import type { Logger } from "../log.js";
import { JsonBodyError } from "./json-body.js";

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

function sendOutcomeBody(
  res: Parameters<ErrorRequestHandler>[2],
  status: number,
  body: OperationOutcome,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.status(status).set(headers).type("application/fhir+json").send(JSON.stringify(body));
}

/** Body-parser style errors (express.json or raw) carry `type` and `status`. */
function bodyParserError(err: unknown): OperationOutcomeError | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const type = (err as { type?: unknown }).type;
  switch (type) {
    case "entity.parse.failed":
      return badRequest("the request body is not valid JSON");
    case "entity.too.large":
      return payloadTooLarge();
    case "encoding.unsupported":
    case "charset.unsupported":
      return unsupportedMediaType("unsupported content encoding or charset");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return badRequest("the request body could not be read");
    default:
      return undefined;
  }
}

/** The one error middleware: every error becomes an OperationOutcome response. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Already answered (e.g. the request time limit sent its 503): nothing more to tell the
      // client; log it so the late failure is not lost, and never let express print a stack.
      if (!(err instanceof OperationOutcomeError)) {
        logger.warn(
          { err, method: req.method, path: req.path },
          "error after the response was sent",
        );
      }
      return;
    }
    if (err instanceof OperationOutcomeError) {
      sendOutcomeBody(res, err.status, err.outcome, err.headers);
      return;
    }
    if (err instanceof JsonBodyError) {
      sendOutcomeBody(res, err.status, outcome(err.issueCode, err.message));
      return;
    }
    const parsed = bodyParserError(err);
    if (parsed) {
      sendOutcomeBody(res, parsed.status, parsed.outcome);
      return;
    }
    // The path only, without query: ids in queries could be patient data.
    logger.error({ err, method: req.method, path: req.path }, "unexpected error");
    const internal = serverError();
    sendOutcomeBody(res, internal.status, internal.outcome);
  };
}
