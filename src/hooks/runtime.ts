/**
 * The CDS Hooks runtime: one call from its parsed JSON body to its answer, knowing nothing of HTTP
 * (src/http adapts it to express).
 *
 *   parse        the request schema (parseRequest), then the hook the service serves and the
 *                hook's context (callFor)
 *   resolve      prefetch: what came in the request, the rest read from the FHIR server (I/O)
 *   evaluate     the service, pure: data → { cards, alerts }
 *   record       the alerts, through the alert sink, before the answer leaves; a card whose
 *                finding's alert could not be recorded says so
 *   validate     at most MAX_CARDS cards, each checked against CDS Hooks 2.0
 *
 * Every refusal is an OperationOutcomeError (src/outcomes.ts): a bad request (400) before any
 * data is read, required data that cannot be had (412) while prefetch is resolved.
 */
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { AlertRaiseOutcome, AlertSink, SafetyAlertInput } from "../alerts/types.js";
import type { CdsService, ServiceInput } from "../../cds-services/types.js";
import type { FeedbackRecord } from "../store/feedback.js";
import { patientIdOf } from "../fhir/patient-scope.js";
import { badRequest, badRequestIssues } from "../outcomes.js";
import { capCards } from "./card-cap.js";
import { resolvePrefetch, type ReaderFactory } from "./prefetch.js";
import {
  cdsRequestSchema,
  describeIssues,
  draftMedicationRequests,
  feedbackRequestSchema,
  isHookName,
  parseHookContext,
  patientViewContextWithoutPatientSchema,
  type Card,
  type CdsRequest,
  type CdsResponse,
  type HookRequest,
  type OrderSignContext,
} from "./schemas.js";
import { enforceValidResponse } from "./validate-response.js";

export type { FeedbackRecord };

/** Stores feedback idempotently on (card, outcome, outcomeTimestamp). */
export type SaveFeedback = (records: readonly FeedbackRecord[]) => Promise<unknown>;

export interface HookRuntimeDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: readonly CdsService[];
  readonly clock: () => Date;
  readonly saveFeedback: SaveFeedback;
  /**
   * Where the alerts of an evaluation are recorded (docs/cds-contract.md#alerts). Without one
   * (tests, tools) they are not recorded and no card says otherwise.
   */
  readonly alertSink?: AlertSink;
  /** How prefetch reads a FHIR server (default fhir-kit-client); tests pass a reader of their own. */
  readonly readerFactory?: ReaderFactory;
}

/**
 * A request that passed every check: the service, its request, and the hook with its typed
 * context, or `undefined` when the request gives the service nothing to judge (then the answer
 * is no cards, and no data is read).
 */
export interface HookCall {
  readonly service: CdsService;
  readonly request: CdsRequest;
  readonly hookRequest: HookRequest | undefined;
}

/**
 * Said first on a card when the alert of its finding is not in the store
 * (docs/cds-contract.md#alerts): "queued" in the local spool until the database is back, or
 * "failed", so no webhook will carry it.
 */
export const ALERT_NOT_RECORDED = {
  queued:
    "**Safety team not yet notified.** ln-cds could not reach its database, so the safety-team " +
    "alert for this finding is queued on this server and will be sent once the database is back. " +
    "If it cannot wait, inform the safety team directly.",
  failed:
    "**Safety team not notified.** ln-cds could not record the safety-team alert for this finding " +
    "(its database failed), so no alert will be sent for it. Please inform the safety team directly.",
} as const satisfies Record<Exclude<AlertRaiseOutcome, "recorded">, string>;

/**
 * The cards with the note of `outcome` first in the detail of each card whose finding
 * (`source.topic.code`) is the rule of one of `alerts`; other cards are returned as they are.
 */
export function withAlertNotRecorded(
  cards: readonly Card[],
  alerts: readonly SafetyAlertInput[],
  outcome: Exclude<AlertRaiseOutcome, "recorded">,
): Card[] {
  const note = ALERT_NOT_RECORDED[outcome];
  const rules = new Set<string>(alerts.map((a) => a.rule));
  return cards.map((card) => {
    const finding = card.source.topic?.code;
    if (finding === undefined || !rules.has(finding)) return card;
    return { ...card, detail: card.detail === undefined ? note : `${note}\n\n${card.detail}` };
  });
}

/** The body must be a JSON object before any field can be named. */
function requireObjectBody(body: unknown, what: string): void {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest(`the request body must be a JSON object (${what})`);
  }
}

/** An order hook whose drafts hold no medication order with a medication: nothing to check. */
function hasNoMedicationDraft(context: OrderSignContext): boolean {
  return !draftMedicationRequests(context).some(
    (mr) => mr.medicationCodeableConcept !== undefined || mr.medicationReference !== undefined,
  );
}

/**
 * The draft orders that name another patient than the context's (docs/cds-contract.md#whose-data):
 * one issue per entry whose `subject` (else `patient`) reference is a Patient other than
 * `patientId`. A draft that names no Patient (no subject, a Group, a contained reference) is
 * accepted: real clients send drafts without a subject.
 */
function draftsOfAnotherPatient(
  context: OrderSignContext,
): { message: string; expression: string }[] {
  const issues: { message: string; expression: string }[] = [];
  (context.draftOrders.entry ?? []).forEach((entry, i) => {
    const r = entry.resource as
      | { subject?: { reference?: unknown }; patient?: { reference?: unknown } }
      | undefined;
    if (r === undefined) return;
    const field = r.subject !== undefined ? "subject" : "patient";
    const reference = r[field]?.reference;
    if (typeof reference !== "string") return;
    const named = patientIdOf(reference);
    if (named === undefined || named === context.patientId) return;
    const expression = `context.draftOrders.entry[${String(i)}].resource.${field}`;
    issues.push({
      expression,
      message:
        `${expression}: the draft order is for another patient than context.patientId ` +
        `("${context.patientId}"); ln-cds judges one patient's orders per call`,
    });
  });
  return issues;
}

export class HookRuntime {
  private readonly byId: ReadonlyMap<string, CdsService>;
  private readonly mode: "test" | "production";

  /** The registry, in discovery order. */
  readonly services: readonly CdsService[];

  constructor(private readonly deps: HookRuntimeDeps) {
    this.services = deps.services;
    this.byId = new Map(deps.services.map((s) => [s.id, s]));
    this.mode = deps.config.NODE_ENV === "test" ? "test" : "production";
  }

  /** The service of `POST /cds-services/{id}`, when there is one. */
  service(id: string): CdsService | undefined {
    return this.byId.get(id);
  }

  /**
   * Checks a request body against the CDS Hooks request schema. Reads no data; throws an
   * OperationOutcomeError (400) naming what is wrong.
   */
  parseRequest(body: unknown): CdsRequest {
    requireObjectBody(body, "a CDS Hooks request with hook, hookInstance and context");
    const parsed = cdsRequestSchema.safeParse(body);
    if (!parsed.success) throw badRequestIssues(describeIssues(parsed.error));
    return parsed.data;
  }

  /**
   * The call of `request` on `service`: the hook must be one the service serves, and its context
   * is checked by the hook's schema. Reads no data; throws an OperationOutcomeError (400).
   */
  callFor(service: CdsService, request: CdsRequest): HookCall {
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
      this.deps.logger.warn(
        { serviceId: service.id, hookInstance: request.hookInstance },
        "patient-view with no patientId in its context: nothing to judge, no cards",
      );
      return { service, request, hookRequest: undefined };
    }
    const hookRequest = parseHookContext(hook, request.context);
    if (!hookRequest.success)
      throw badRequestIssues(describeIssues(hookRequest.error, ["context"]));
    // Whose data: a FHIR token issued for another patient than the context's makes the request
    // contradict itself (docs/cds-contract.md#whose-data); nothing is read with it.
    const tokenPatient = request.fhirAuthorization?.patient;
    if (tokenPatient !== undefined && tokenPatient !== hookRequest.data.context.patientId) {
      throw badRequest(
        `fhirAuthorization.patient ("${tokenPatient}") is another patient than ` +
          `context.patientId ("${hookRequest.data.context.patientId}"): the FHIR token is for ` +
          "another patient's data",
        "fhirAuthorization.patient",
      );
    }
    // Whose data: a draft of another patient makes the request contradict itself; no card is
    // made from it (docs/cds-contract.md#whose-data).
    if (hookRequest.data.hook !== "patient-view") {
      const foreign = draftsOfAnotherPatient(hookRequest.data.context);
      if (foreign.length > 0) throw badRequestIssues(foreign);
    }
    // Real clients fire order-select on an empty draft (docs/cds-contract.md#real-clients): answer
    // no cards rather than fetch data (and perhaps 412) for an order that names no medication.
    // Likewise when the service says the request holds nothing for it (an order of another drug).
    const nothingToJudge =
      (hookRequest.data.hook !== "patient-view" &&
        hasNoMedicationDraft(hookRequest.data.context)) ||
      service.appliesTo?.(hookRequest.data) === false;
    return { service, request, hookRequest: nothingToJudge ? undefined : hookRequest.data };
  }

  /**
   * The answer to a parsed call: prefetch resolved (412 when required data cannot be had), the
   * service's evaluation, its alerts recorded, its cards capped and checked. `signalOf` gives the
   * signal that ends the call's FHIR reads early (asked for only when something is read).
   */
  async answer(call: HookCall, signalOf?: () => AbortSignal | undefined): Promise<CdsResponse> {
    const { service, request, hookRequest } = call;
    if (hookRequest === undefined) return { cards: [] };
    const { config, logger } = this.deps;
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
        context: hookRequest.context,
      },
      {
        config,
        logger,
        ...(signalOf !== undefined ? { signalOf } : {}),
        ...(this.deps.readerFactory !== undefined
          ? { readerFactory: this.deps.readerFactory }
          : {}),
      },
    );
    // Every field named, not a spread of hookRequest: the spread's copy cost 5–10 µs per request
    // (measured in-process, all three patient-view services). hook and context come from one
    // HookRequest, so they agree, which TypeScript cannot see when they are taken apart.
    const input = {
      hook: hookRequest.hook,
      context: hookRequest.context,
      serviceId: service.id,
      hookInstance: request.hookInstance,
      data,
      now: this.deps.clock(),
      config,
      logger,
    } as ServiceInput;
    const evaluation = service.evaluate(input);
    let cards = evaluation.cards;
    const alerts = evaluation.alerts;
    // Recorded before the answer leaves (docs/cds-contract.md#alerts). The sink never throws: an
    // alert it could not store is queued or lost (logged there), and the finding's card says so.
    if (alerts !== undefined && alerts.length > 0 && this.deps.alertSink !== undefined) {
      const outcome = await this.deps.alertSink.raise(alerts, "patient-view");
      if (outcome !== "recorded") cards = withAlertNotRecorded(cards, alerts, outcome);
    }
    return enforceValidResponse(
      { cards: capCards(cards) },
      { mode: this.mode, logger, serviceId: service.id },
    );
  }

  /** The whole pipeline, from a body to its answer, for callers that log nothing between. */
  async invoke(
    service: CdsService,
    body: unknown,
    signalOf?: () => AbortSignal | undefined,
  ): Promise<CdsResponse> {
    return this.answer(this.callFor(service, this.parseRequest(body)), signalOf);
  }

  /**
   * Card feedback for `service` (docs/cds-contract.md#feedback): checked, then stored once per
   * (card, outcome, outcomeTimestamp). Throws an OperationOutcomeError (400) for a bad body.
   */
  async feedback(service: CdsService, body: unknown): Promise<void> {
    requireObjectBody(body, "a CDS Hooks feedback request");
    const parsed = feedbackRequestSchema.safeParse(body);
    if (!parsed.success) throw badRequestIssues(describeIssues(parsed.error));
    const receivedAt = this.deps.clock();
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
    await this.deps.saveFeedback(records);
  }
}
