/**
 * The demo EHR's side of CDS Hooks 2.0, as any EHR does it: discovery, prefetch filled from each
 * service's templates and read from the EHR's FHIR server, the hook call, and feedback.
 */

export interface DiscoveredService {
  readonly hook: string;
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly prefetch?: Readonly<Record<string, string>>;
}

export interface Coding {
  readonly system?: string;
  readonly code: string;
  readonly display?: string;
}

export interface CardLink {
  readonly label: string;
  readonly url: string;
  readonly type: "absolute" | "smart";
  readonly appContext?: string;
}

export interface Suggestion {
  readonly label: string;
  readonly uuid?: string;
  readonly isRecommended?: boolean;
  readonly actions?: readonly {
    type: string;
    description: string;
    resource?: unknown;
    resourceId?: unknown;
  }[];
}

export interface Card {
  readonly uuid?: string;
  readonly summary: string;
  readonly detail?: string;
  readonly indicator: "info" | "warning" | "critical";
  readonly source: { label: string; url?: string; topic?: Coding };
  readonly suggestions?: readonly Suggestion[];
  readonly overrideReasons?: readonly Coding[];
  readonly links?: readonly CardLink[];
}

export interface HookContext {
  readonly userId: string;
  readonly patientId: string;
  readonly [key: string]: unknown;
}

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

export type FeedbackItem =
  | {
      card: string;
      outcome: "accepted";
      acceptedSuggestions: { id: string }[];
      outcomeTimestamp: string;
    }
  | {
      card: string;
      outcome: "overridden";
      overrideReason?: { reason?: Coding; userComment?: string };
      outcomeTimestamp: string;
    };

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
