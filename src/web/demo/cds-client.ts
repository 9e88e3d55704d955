/**
 * The demo EHR's side of CDS Hooks 2.0, as any EHR does it: discovery, prefetch filled from each
 * service's templates and read from the EHR's FHIR server, the hook call, and feedback.
 */

// The wire shapes are declared once, as the service's zod schemas (src/hooks/schemas.ts); the
// page takes their types only, so none of the schemas' code reaches the bundle.
import type {
  Card,
  Coding,
  DiscoveryEntry,
  FeedbackItem,
  Link,
  PatientViewContext,
  Suggestion,
} from "../../hooks/schemas.js";

export type { Card, Coding, FeedbackItem, Suggestion };
export type DiscoveredService = DiscoveryEntry;
export type CardLink = Link;
/** A hook's context as this client sends it: the patient-view fields, and a hook's own. */
export type HookContext = PatientViewContext;

export class CdsError extends Error {
  override name = "CdsError";
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) {
    let detail = "";
    try {
      const body = (await res.json()) as { issue?: { diagnostics?: string }[] };
      detail = body.issue?.map((i) => i.diagnostics ?? "").join("; ") ?? "";
    } catch {
      // not JSON
    }
    throw new CdsError(`${what}: HTTP ${String(res.status)}${detail ? ` (${detail})` : ""}`);
  }
  return (await res.json()) as T;
}

export async function discover(cdsBase: string): Promise<DiscoveredService[]> {
  const res = await fetch(`${cdsBase}/cds-services`, { headers: { Accept: "application/json" } });
  return (await json<{ services: DiscoveredService[] }>(res, "discovery")).services;
}

/** `{{context.patientId}}` and `{{context.userId}}` (and userPractitionerId), URL-encoded. */
export function fillTemplate(template: string, context: HookContext): string | undefined {
  const [userType, userId] = context.userId.split("/");
  const values: Record<string, string | undefined> = {
    "context.patientId": context.patientId,
    "context.userId": context.userId,
    userPractitionerId: userType === "Practitioner" ? userId : undefined,
  };
  const missing: string[] = [];
  const filled = template.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_m, token: string) => {
    const v = values[token];
    if (v === undefined) missing.push(token);
    return encodeURIComponent(v ?? "");
  });
  return missing.length > 0 ? undefined : filled;
}

/**
 * Reads every prefetch key of a service from the FHIR server. `cache` shares reads between the
 * services of one hook call (they ask for the same templates). A key that cannot be read is left
 * out, so the service fetches it itself or answers 412.
 */
export async function prefetchFor(
  service: DiscoveredService,
  fhirServer: string,
  context: HookContext,
  cache: Map<string, Promise<unknown>>,
): Promise<Record<string, unknown>> {
  const entries = Object.entries(service.prefetch ?? {});
  const out: Record<string, unknown> = {};
  await Promise.all(
    entries.map(async ([key, template]) => {
      const url = fillTemplate(template, context);
      if (url === undefined) return;
      let read = cache.get(url);
      if (!read) {
        read = fetch(`${fhirServer}/${url}`, { headers: { Accept: "application/fhir+json" } }).then(
          async (res) =>
            res.ok ? ((await res.json()) as unknown) : res.status === 404 ? null : undefined,
          () => undefined,
        );
        cache.set(url, read);
      }
      const value = await read;
      if (value !== undefined) out[key] = value;
    }),
  );
  return out;
}

export async function callService(
  cdsBase: string,
  service: DiscoveredService,
  body: { fhirServer: string; context: HookContext; prefetch: Record<string, unknown> },
): Promise<Card[]> {
  const res = await fetch(`${cdsBase}/cds-services/${encodeURIComponent(service.id)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      hook: service.hook,
      hookInstance: crypto.randomUUID(),
      fhirServer: body.fhirServer,
      context: body.context,
      prefetch: body.prefetch,
    }),
  });
  return (await json<{ cards: Card[] }>(res, service.id)).cards;
}

export async function postFeedback(
  cdsBase: string,
  serviceId: string,
  item: FeedbackItem,
): Promise<void> {
  const res = await fetch(`${cdsBase}/cds-services/${encodeURIComponent(serviceId)}/feedback`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ feedback: [item] }),
  });
  if (!res.ok) throw new CdsError(`feedback to ${serviceId}: HTTP ${String(res.status)}`);
}
