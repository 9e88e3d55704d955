/**
 * A patient-view of iguratimod-safety for a copy of study patient 4 (critical anaemia) under any
 * patient id: every copy raises alerts of its own, which the database-fault tests count.
 */
import { randomUUID } from "node:crypto";
import type { FhirResource } from "fhir/r4.js";
import request from "supertest";
import { expect } from "vitest";
import { defaultServices } from "../../cds-services/index.js";
import { patientPrefetch, studyPatientResources } from "../../fixtures/index.js";
import { testConfig } from "../../src/config.js";
import { responseViolations } from "../../src/hooks/validate-response.js";
import { protocolApp } from "./protocol-app.js";

const templates = new Map<number, string>();

/** The request body; patient 4's data dated from `now` (default: the day the test runs). */
export function patient4ViewBody(patient: string, now: Date = new Date()): string {
  const day = Math.floor(now.getTime() / 86_400_000);
  let template = templates.get(day);
  if (template === undefined) {
    template = JSON.stringify(patientPrefetch(studyPatientResources("kang-04", now)));
    templates.set(day, template);
  }
  return JSON.stringify({
    hook: "patient-view",
    hookInstance: `hi-${patient}`,
    context: { userId: "Practitioner/demo", patientId: patient },
    prefetch: JSON.parse(template.replaceAll("kang-04", patient)) as unknown,
  });
}

export interface AnaemiaAnswer {
  readonly status: number;
  /** The anaemia card was in the answer. */
  readonly anaemia: boolean;
  /** Its alert is queued in the spool ("not yet notified"). */
  readonly queued: boolean;
  /** Its alert could not be recorded at all ("not notified"). */
  readonly notNotified: boolean;
  readonly detail: string;
}

/** Posts the view to the service at `url` and reads the anaemia card of the answer. */
export async function anaemiaAnswer(
  url: string,
  patient: string,
  now?: Date,
): Promise<AnaemiaAnswer> {
  const res = await fetch(`${url}/cds-services/iguratimod-safety`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: patient4ViewBody(patient, now),
  });
  const body = (await res.json()) as { cards?: { summary: string; detail?: string }[] };
  const card = body.cards?.find((c) => c.summary.startsWith("Anaemia"));
  const detail = card?.detail ?? "";
  return {
    status: res.status,
    anaemia: card !== undefined,
    queued: detail.includes("Safety team not yet notified"),
    notNotified: detail.includes("Safety team not notified"),
    detail,
  };
}

/** A card of iguratimod-safety as the HTTP tests read it. */
export interface SafetyCard {
  readonly summary: string;
  readonly indicator: string;
  readonly detail: string;
  readonly extension: {
    readonly "ln-cds": { readonly evidence?: string[]; readonly dataQuality?: string[] };
  };
}

/**
 * Patient 4's patient-view of the real iguratimod-safety service over HTTP (the app with the
 * default services, its clock at `now`), `resources` as the full prefetch. Expects a 200 whose
 * answer breaks no CDS Hooks rule, and returns its cards.
 */
export async function patient4SafetyCards(
  resources: readonly FhirResource[],
  now: Date,
): Promise<SafetyCard[]> {
  const { app } = protocolApp({ services: defaultServices(testConfig({})), clock: () => now });
  const res = await request(app)
    .post("/cds-services/iguratimod-safety")
    .send({
      hook: "patient-view",
      hookInstance: randomUUID(),
      context: { userId: "Practitioner/u1", patientId: "kang-04" },
      prefetch: patientPrefetch(resources),
    });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(responseViolations(res.body)).toEqual([]);
  return (res.body as { cards: SafetyCard[] }).cards;
}
