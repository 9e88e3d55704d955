/**
 * Time limit of one incoming request (issue 5 §5 "Each request has a time limit"; REQUEST_TIMEOUT_MS).
 *
 * When the limit passes before an answer was sent, the client gets 503 with an OperationOutcome
 * (never a hang), and the request's AbortSignal fires so that work still under way (prefetch
 * reads, FHIR searches) can stop instead of running on for nobody.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { sendOutcome } from "./send-outcome.js";

const signals = new WeakMap<Request, AbortSignal>();

/** Aborted when the request's time limit passes or the client goes away. */
export function requestSignalOf(req: Request): AbortSignal | undefined {
  return signals.get(req);
}

export function requestTimeLimit(timeoutMs: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const controller = new AbortController();
    signals.set(req, controller.signal);
    const timer = setTimeout(() => {
      controller.abort(new Error("request time limit reached"));
      if (res.headersSent) return;
      sendOutcome(
        res,
        503,
        {
          code: "timeout",
          diagnostics: `the request took longer than ${timeoutMs} ms and was abandoned`,
        },
        { "Retry-After": "1" },
      );
    }, timeoutMs);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      if (!res.writableFinished) controller.abort(new Error("client went away"));
    };
    res.once("finish", () => {
      clearTimeout(timer);
    });
    res.once("close", done);
    next();
  };
}
