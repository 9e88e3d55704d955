/**
 * What a CDS service is, for the registry (cds-services/index.ts). Discovery, dispatch and
 * prefetch resolution are generated from these fields; a service only says which data it needs
 * and turns resolved data into cards.
 */
import type { FhirResource } from "fhir/r4.js";
import type { Config } from "../src/config.js";
import type { DroppedResources } from "../src/fhir/patient-scope.js";
import type { Logger } from "../src/log.js";
import type { SafetyAlertInput } from "../src/alerts/types.js";
import type { Card, HookName, HookRequest } from "../src/hooks/schemas.js";

export type { Card, HookName, HookRequest };

export interface CdsService {
  /** URL segment: POST /cds-services/{id}. */
  readonly id: string;
  /**
   * The hooks this id answers. A listed service has one hook: discovery gives every entry its own
   * id (docs/cds-contract.md#services), since real clients key services by id.
   */
  readonly hooks: readonly HookName[];
  /** false: the id answers its hooks but is not in discovery (an alias kept for old callers). */
  readonly listed?: boolean;
  readonly title: string;
  readonly description: string;
  /** Prefetch templates by key, CDS Hooks 2.0 tokens only (see src/hooks/prefetch.ts). */
  readonly prefetch: Readonly<Record<string, string>>;
  /** Keys without which the service cannot answer: 412 when they cannot be had. */
  readonly requiredPrefetch: readonly string[];
  readonly usageRequirements?: string;
  /**
   * Whether this request gives the service anything to judge, decided from the hook and its
   * context alone. False answers `{"cards": []}` before any patient data is read: no FHIR
   * request and no 412 for, say, an order of another drug. Without it, every request is judged.
   */
  appliesTo?(request: HookRequest): boolean;
  /**
   * Pure: the request's data in, the cards and alerts out, no I/O (the runtime, src/hooks/runtime.ts,
   * reads the data before and records the alerts after).
   */
  evaluate(input: ServiceInput): Evaluation;
}

/** What a service makes of one request. */
export interface Evaluation {
  readonly cards: Card[];
  /**
   * Safety-team alerts the findings raise (docs/cds-contract.md#alerts), recorded by the runtime
   * before the answer leaves. An alert belongs to the card whose `source.topic.code` is its
   * `rule`: when it cannot be recorded, that card says the safety team was not notified.
   */
  readonly alerts?: readonly SafetyAlertInput[];
}

/**
 * Prefetch data as services see it: typed FHIR resources per key, never the request's JSON.
 * A read template gives at most one resource; a search (or a Bundle sent in prefetch) gives every
 * resource of every page followed.
 */
export interface ResolvedPrefetch {
  /** Every key of the service's prefetch: its resources ([] for "no data" and for unavailable keys). */
  readonly resources: Readonly<Record<string, readonly FhirResource[]>>;
  /** Non-required keys that could not be had (not sent and not fetchable, or the fetch failed). */
  readonly unavailable: readonly string[];
  /** Keys whose paging stopped at PREFETCH_MAX_PAGES / PREFETCH_MAX_RESOURCES (data may be partial). */
  readonly incomplete: readonly string[];
  /**
   * Resources dropped because they are not this patient's or not of the key's type, counted per
   * key, type and reason (docs/cds-contract.md#whose-data). Absent when none were.
   */
  readonly dropped?: readonly DroppedResources[];
  /**
   * Statements and requests (`Type/id`) whose `medicationReference` could not be read (not
   * contained, not in the data, not had from the FHIR server). Absent when none.
   */
  readonly unreadableMedications?: readonly string[];
}

interface CommonInput {
  readonly serviceId: string;
  readonly hookInstance: string;
  readonly data: ResolvedPrefetch;
  readonly now: Date;
  readonly config: Config;
  readonly logger: Logger;
}

/** The input of `evaluate`, discriminated on `hook` so each hook's context is typed. */
export type ServiceInput = CommonInput & HookRequest;
