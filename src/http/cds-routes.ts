/**
 * The CDS Hooks 2.0 endpoints: discovery, invocation and feedback. Routes stay thin: the request
 * is checked with the zod schemas, the prefetch resolved, the service called, and its response
 * checked by the one validator before it goes out.
 */
import { Router, type RequestHandler, type Response } from "express";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { discoveryOf, findService } from "../../cds-services/index.js";
import type { CdsService, ServiceInput } from "../../cds-services/types.js";
import { resolvePrefetch, type ReaderFactory } from "../hooks/prefetch.js";
import {
  cdsRequestSchema,
  describeIssues,
  draftMedicationRequests,
  feedbackRequestSchema,
  isHookName,
  parseHookContext,
  patientViewContextWithoutPatientSchema,
  type CdsResponse,
  type OrderSignContext,
} from "../hooks/schemas.js";
import { capCards } from "../hooks/card-cap.js";
import { enforceValidResponse } from "../hooks/validate-response.js";
import { annotateRequestLog } from "./access-log.js";
import { badRequest, badRequestIssues, notFound, unsupportedMediaType } from "./errors.js";
import { jsonBody } from "./json-body.js";
import { requestSignalOf } from "./request-timeout.js";

import type { FeedbackRecord } from "../store/feedback.js";

export type { FeedbackRecord };

/** Stores feedback idempotently on (card, outcome, outcomeTimestamp). */
export type SaveFeedback = (records: readonly FeedbackRecord[]) => Promise<unknown>;

export interface CdsRoutesDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: readonly CdsService[];
  readonly clock: () => Date;
  readonly saveFeedback: SaveFeedback;
  /** Authentication (and rate limit) run before the body is read. */
  readonly auth: readonly RequestHandler[];
  readonly readerFactory?: ReaderFactory;
}

const JSON_TYPES = ["application/json", "application/fhir+json", "application/*+json"];

/** 415 unless the body is declared JSON (CDS Hooks 2.0 req. 1: JSON only). */
const requireJson: RequestHandler = (req, _res, next) => {
  if (req.is(JSON_TYPES) === false || req.headers["content-type"] === undefined) {
    next(unsupportedMediaType("the request body must be application/json"));
    return;
  }
  next();
};

/** An order hook whose drafts hold no medication order with a medication: nothing to check. */
function hasNoMedicationDraft(context: OrderSignContext): boolean {
  return !draftMedicationRequests(context).some(
    (mr) => mr.medicationCodeableConcept !== undefined || mr.medicationReference !== undefined,
  );
}

/** The body must be a JSON object before any field can be named. */
function requireObjectBody(body: unknown, what: string): void {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest(`the request body must be a JSON object (${what})`);
  }
}

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
  const body = jsonBody({ limitBytes: deps.config.BODY_LIMIT_BYTES });
  const mode = deps.config.NODE_ENV === "test" ? "test" : "production";

  // 404 for an unknown id before the body is read: the id is wrong whatever the body holds, so
  // a non-JSON or malformed body to it is not a 415 or a 400.
  const knownService: RequestHandler = (req, res, next) => {
    const id = String(req.params.id);
    const service = findService(deps.services, id);
    if (service === undefined) throw notFound(`no CDS service with id "${id}"`);
    annotateRequestLog(req, { serviceId: service.id });
    res.locals.service = service;
    next();
  };
  const serviceOf = (res: Response): CdsService => res.locals.service as CdsService;

  router.get("/cds-services", ...deps.auth, (_req, res) => {
    res.status(200).json(discoveryOf(deps.services));
  });

  // Invocation and feedback: authenticated, a known id, then a JSON body, in that order.
  const beforeHandler = [...deps.auth, knownService, requireJson, body];

  router.post("/cds-services/:id", ...beforeHandler, async (req, res) => {
    const service = serviceOf(res);
    requireObjectBody(req.body, "a CDS Hooks request with hook, hookInstance and context");
    const parsed = cdsRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequestIssues(describeIssues(parsed.error));
    const request = parsed.data;
    annotateRequestLog(req, { hook: request.hook, hookInstance: request.hookInstance });

    const hook = request.hook;
    if (!isHookName(hook) || !service.hooks.includes(hook)) {
      throw badRequest(`the service "${service.id}" does not serve the hook "${hook}"`, "hook");
    }
    // The spec's example of a request extension is a patient-view call whose context holds the
    // user only. Accepted (docs/cds-contract.md#real-clients): with no patient there is nothing
    // to judge, so no cards; the rest of the context is still checked, and the log says why.
    if (hook === "patient-view" && request.context.patientId === undefined) {
      const rest = patientViewContextWithoutPatientSchema.safeParse(request.context);
      if (!rest.success) throw badRequestIssues(describeIssues(rest.error, ["context"]));
      deps.logger.warn(
        { serviceId: service.id, hookInstance: request.hookInstance },
        "patient-view with no patientId in its context: nothing to judge, no cards",
      );
      annotateRequestLog(req, { cards: 0 });
      sendCards(res, { cards: [] });
      return;
    }
    const hookRequest = parseHookContext(hook, request.context);
    if (!hookRequest.success)
      throw badRequestIssues(describeIssues(hookRequest.error, ["context"]));
    const { context } = hookRequest.data;

    // Real clients fire order-select on an empty draft (docs/cds-contract.md#real-clients): answer
    // no cards rather than fetch data (and perhaps 412) for an order that names no medication.
    // Likewise when the service says the request holds nothing for it (an order of another drug).
    const nothingToJudge =
      (hookRequest.data.hook !== "patient-view" &&
        hasNoMedicationDraft(hookRequest.data.context)) ||
      service.appliesTo?.(hookRequest.data) === false;
    if (nothingToJudge) {
      annotateRequestLog(req, { cards: 0 });
      sendCards(res, { cards: [] });
      return;
    }

    const data = await resolvePrefetch(
      {
        serviceId: service.id,
        prefetch: service.prefetch,
        requiredPrefetch: service.requiredPrefetch,
      },
      {
        ...(request.fhirServer !== undefined ? { fhirServer: request.fhirServer } : {}),
        ...(request.fhirAuthorization !== undefined
          ? { accessToken: request.fhirAuthorization.access_token }
          : {}),
        ...(request.prefetch !== undefined ? { prefetch: request.prefetch } : {}),
        context,
      },
      {
        config: deps.config,
        logger: deps.logger,
        signalOf: () => requestSignalOf(req),
        ...(deps.readerFactory !== undefined ? { readerFactory: deps.readerFactory } : {}),
      },
    );
    const input: ServiceInput = {
      ...hookRequest.data,
      serviceId: service.id,
      hookInstance: request.hookInstance,
      data,
      now: deps.clock(),
      config: deps.config,
      logger: deps.logger,
    };
    const cards = capCards(await service.evaluate(input));
    const checked = enforceValidResponse(
      { cards },
      { mode, logger: deps.logger, serviceId: service.id },
    );
    annotateRequestLog(req, { cards: checked.cards.length });
    sendCards(res, checked);
  });

  router.post("/cds-services/:id/feedback", ...beforeHandler, async (req, res) => {
    const service = serviceOf(res);
    requireObjectBody(req.body, "a CDS Hooks feedback request");
    const parsed = feedbackRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequestIssues(describeIssues(parsed.error));
    const receivedAt = deps.clock();
    const records: FeedbackRecord[] = parsed.data.feedback.map((fb) => {
      const reason = fb.overrideReason?.reason;
      const comment = fb.overrideReason?.userComment;
      return {
        serviceId: service.id,
        card: fb.card,
        outcome: fb.outcome,
        outcomeTimestamp: fb.outcomeTimestamp,
        acceptedSuggestions: (fb.acceptedSuggestions ?? []).map((s) => s.id),
        ...(reason !== undefined
          ? {
              overrideReason: {
                code: reason.code,
                ...(reason.system !== undefined ? { system: reason.system } : {}),
                ...(reason.display !== undefined ? { display: reason.display } : {}),
              },
            }
          : {}),
        ...(comment !== undefined && comment !== "" ? { userComment: comment } : {}),
        receivedAt,
      };
    });
    await deps.saveFeedback(records);
    res.status(200).end();
  });

  return router;
}
