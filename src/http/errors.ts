/**
 * The one place where an error becomes an HTTP answer (docs/cds-contract.md#requests-and-errors).
 *
 * Errors are `OperationOutcomeError`s made by the factories of src/outcomes.ts, thrown from
 * anywhere. Here, and only here, one is written as a response: the status, its headers and the
 * OperationOutcome body (`sendError`). Middleware that answers before any route runs (auth,
 * CORS, rate limit, time limit, body reading) calls `sendError` itself; everything else reaches
 * `errorMiddleware`, which also maps a body parser's errors and, for anything unexpected, logs
 * the error (no patient data) and answers a bare 500 "internal error". Never a stack trace.
 */
import type { ErrorRequestHandler, Response } from "express";
import type { Logger } from "../log.js";
import {
  badRequest,
  OperationOutcomeError,
  payloadTooLarge,
  serverError,
  unsupportedMediaType,
} from "../outcomes.js";

export * from "../outcomes.js";

/** Writes an error as its status, headers and OperationOutcome body. */
export function sendError(res: Response, error: OperationOutcomeError): void {
  res
    .status(error.status)
    .set(error.headers)
    .type("application/fhir+json")
    .send(JSON.stringify(error.outcome));
}

/**
 * A body parser's error (express.json or express.raw, which set `type`) as the error to answer
 * with; undefined for anything else. `limitBytes`, when known, is named in the 413.
 */
export function bodyParserError(
  err: unknown,
  limitBytes?: number,
): OperationOutcomeError | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const type = (err as { type?: unknown }).type;
  switch (type) {
    case "entity.parse.failed":
      return badRequest("the request body is not valid JSON");
    case "entity.too.large":
      return limitBytes === undefined
        ? payloadTooLarge()
        : payloadTooLarge(`the request body is larger than ${limitBytes} bytes`);
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

/** The app's last middleware: every error becomes an OperationOutcome response. */
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
    const known = err instanceof OperationOutcomeError ? err : bodyParserError(err);
    if (known) {
      sendError(res, known);
      return;
    }
    // The path only, without query: ids in queries could be patient data.
    logger.error({ err, method: req.method, path: req.path }, "unexpected error");
    sendError(res, serverError());
  };
}
