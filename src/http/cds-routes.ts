/**
 * The CDS Hooks 2.0 endpoints over express: discovery, invocation and feedback. The routes only
 * adapt: authentication, the service id (404), the content type (415), the body (400, 413), then
 * the runtime (src/hooks/runtime.ts) does the call, and the route writes its answer and names
 * the call in the access log.
 */
import { Router, type Request, type RequestHandler, type Response } from "express";
import { discoveryOf } from "../../cds-services/index.js";
import type { CdsService } from "../../cds-services/types.js";
import type { HookRuntime } from "../hooks/runtime.js";
import type { CdsResponse } from "../hooks/schemas.js";
import { annotateRequestLog } from "./access-log.js";
import { notFound, unsupportedMediaType } from "./errors.js";
import { isJsonRequest, jsonBody } from "./json-body.js";
import { requestSignalOf } from "./request-timeout.js";

export interface CdsRoutesDeps {
  readonly runtime: HookRuntime;
  /** Largest request body, in bytes (413 beyond). */
  readonly bodyLimitBytes: number;
  /** Authentication (and rate limit) run before the body is read. */
  readonly auth: readonly RequestHandler[];
}

/** 415 unless the body is declared JSON (CDS Hooks 2.0 req. 1: JSON only). */
const requireJson: RequestHandler = (req, _res, next) => {
  if (!isJsonRequest(req)) {
    next(unsupportedMediaType("the request body must be application/json"));
    return;
  }
  next();
};

function sendCards(res: Response, body: CdsResponse): void {
  // Written with node's own writeHead/end: express's res.json() adds a charset look-up, a
  // freshness check and an ETag decision that a POST answer never uses (profiled per request).
  const json = JSON.stringify(body);
  res.writeHead(200, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(json),
    // Cards are about one patient at one moment: never cached by a browser or a proxy.
    "Cache-Control": "no-store",
  });
  res.end(json);
}

export function cdsRoutes(deps: CdsRoutesDeps): Router {
  const router = Router();
  const body = jsonBody({ limitBytes: deps.bodyLimitBytes });
  const { runtime } = deps;

  /** The service the path names; 404 when there is none. */
  const serviceAt = (req: Request): CdsService => {
    const id = String(req.params.id);
    const service = runtime.service(id);
    if (service === undefined) throw notFound(`no CDS service with id "${id}"`);
    return service;
  };

  // 404 for an unknown id before the body is read: the id is wrong whatever the body holds, so
  // a non-JSON or malformed body to it is not a 415 or a 400.
  const knownService: RequestHandler = (req, _res, next) => {
    annotateRequestLog(req, { serviceId: serviceAt(req).id });
    next();
  };

  router.get("/cds-services", ...deps.auth, (_req, res) => {
    res.status(200).json(discoveryOf(runtime.services));
  });

  // Invocation and feedback: authenticated, a known id, then a JSON body, in that order.
  const beforeHandler = [...deps.auth, knownService, requireJson, body];

  router.post("/cds-services/:id", ...beforeHandler, async (req: Request, res: Response) => {
    const request = runtime.parseRequest(req.body);
    // Named in the log as soon as they are known, so a call refused for its context says which.
    annotateRequestLog(req, { hook: request.hook, hookInstance: request.hookInstance });
    const call = runtime.callFor(serviceAt(req), request);
    const answer = await runtime.answer(call, () => requestSignalOf(req));
    annotateRequestLog(req, { cards: answer.cards.length });
    sendCards(res, answer);
  });

  router.post("/cds-services/:id/feedback", ...beforeHandler, async (req, res) => {
    await runtime.feedback(serviceAt(req), req.body);
    res.status(200).end();
  });

  return router;
}
