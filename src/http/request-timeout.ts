/**
 * Time limit of one incoming request (REQUEST_TIMEOUT_MS).
 *
 * When the limit passes before an answer was sent, the client gets 503 with an OperationOutcome
 * (never a hang), and the request's AbortSignal fires so that work still under way (prefetch
 * reads, FHIR searches) can stop instead of running on for nobody.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { sendError, serviceUnavailable } from "./errors.js";

interface RequestDeadline {
  /** Made on first use: most requests (full prefetch) never ask for a signal. */
  controller?: AbortController;
  /** Why the request ended early, once it has. */
  reason?: Error;
}

const deadlines = new WeakMap<Request, RequestDeadline>();

function abort(deadline: RequestDeadline, reason: Error): void {
  if (deadline.reason !== undefined) return;
  deadline.reason = reason;
  deadline.controller?.abort(reason);
}

/** Aborted when the request's time limit passes or the client goes away. */
export function requestSignalOf(req: Request): AbortSignal | undefined {
  const deadline = deadlines.get(req);
  if (deadline === undefined) return undefined;
  if (deadline.controller === undefined) {
    deadline.controller = new AbortController();
    if (deadline.reason !== undefined) deadline.controller.abort(deadline.reason);
  }
  return deadline.controller.signal;
}

export function requestTimeLimit(timeoutMs: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const deadline: RequestDeadline = {};
    deadlines.set(req, deadline);
    const timer = setTimeout(() => {
      abort(deadline, new Error("request time limit reached"));
      if (res.headersSent) return;
      sendError(
        res,
        serviceUnavailable(
          `the request took longer than ${timeoutMs} ms and was abandoned`,
          "timeout",
          { "Retry-After": "1" },
        ),
      );
    }, timeoutMs);
    timer.unref();
    // "close" comes after "finish" for a complete answer, and alone when the client went away.
    res.once("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) abort(deadline, new Error("client went away"));
    });
    next();
  };
}
