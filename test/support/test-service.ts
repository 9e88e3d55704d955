/**
 * A test-only CDS service, registered through the same registry types as the real services.
 * It serves patient-view, order-select and order-sign (one id under several hooks), needs the
 * patient (required) and their Observations (optional), and answers one card that reports, in
 * its extension, how many resources each prefetch key resolved to, so HTTP tests can see what
 * prefetch resolution delivered without reaching into the service.
 */
import { randomUUID } from "node:crypto";
import type { Card, CdsService, ServiceInput } from "../../cds-services/types.js";

export const TEST_SERVICE_ID = "test-prefetch-echo";

export interface TestServiceOptions {
  readonly id?: string;
  readonly hooks?: CdsService["hooks"];
  readonly prefetch?: Record<string, string>;
  readonly requiredPrefetch?: readonly string[];
  /** Replaces the card builder (e.g. to return an invalid card). */
  readonly cards?: (input: ServiceInput) => Card[];
}

export interface EchoExtension {
  readonly hook: string;
  readonly counts: Record<string, number>;
  readonly unavailable?: string[];
  readonly incomplete?: string[];
}

export function echoCard(input: ServiceInput): Card {
  const counts: Record<string, number> = {};
  for (const [key, resources] of Object.entries(input.data.resources))
    counts[key] = resources.length;
  const ext: EchoExtension = {
    hook: input.hook,
    counts,
    ...(input.data.unavailable.length > 0 ? { unavailable: [...input.data.unavailable] } : {}),
    ...(input.data.incomplete.length > 0 ? { incomplete: [...input.data.incomplete] } : {}),
  };
  return {
    uuid: randomUUID(),
    summary: "Test service: prefetch resolved",
    indicator: "info",
    source: { label: "ln-cds test" },
    extension: { "ln-cds-test": ext },
  };
}

export function testService(options: TestServiceOptions = {}): CdsService {
  return {
    id: options.id ?? TEST_SERVICE_ID,
    hooks: options.hooks ?? ["patient-view", "order-select", "order-sign"],
    title: "Prefetch echo (test only)",
    description: "Reports how many resources each prefetch key resolved to.",
    prefetch: options.prefetch ?? {
      patient: "Patient/{{context.patientId}}",
      observations: "Observation?patient={{context.patientId}}",
    },
    requiredPrefetch: options.requiredPrefetch ?? ["patient"],
    evaluate(input) {
      return { cards: options.cards ? options.cards(input) : [echoCard(input)] };
    },
  };
}
