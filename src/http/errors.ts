/**
 * Errors to clients are FHIR OperationOutcome bodies (cds-contract.md "Requests and errors").
 *
 * One error type carries the status and the OperationOutcome; routes throw it through small
 * factories, and one error middleware turns it (or anything unexpected) into the response.
 * Never a stack trace; an unexpected error is logged (with the error, no patient data) and the
 * client gets a bare 500 "internal error".
 */
import type { ErrorRequestHandler } from "express";
import type { OperationOutcome } from "fhir/r4.js";
import type { Logger } from "../log.js";
import { JsonBodyError } from "./json-body.js";
import {
  badRequest,
  OperationOutcomeError,
  outcome,
  payloadTooLarge,
  serverError,
  unsupportedMediaType,
} from "../outcomes.js";

export * from "../outcomes.js";

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
