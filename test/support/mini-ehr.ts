/**
 * A small EHR for end-to-end tests, doing what a real CDS client does: read discovery, render each
 * prefetch template for the patient, run it against its FHIR server (following `next` links),
 * and post the hook, either with the prefetch or with only `fhirServer` (+ token) so the service
 * fetches for itself. Written independently of src/hooks/prefetch.ts, so the two check each other.
 */
import { randomUUID } from "node:crypto";
import type { Bundle, BundleEntry, FhirResource } from "fhir/r4.js";
import type { Express } from "express";
import request from "supertest";
import { draftIguratimodOrder } from "../../fixtures/build.js";

export interface DiscoveryEntry {
  readonly hook: string;
  readonly id: string;
  readonly prefetch?: Record<string, string>;
}

export interface HookCard {
  readonly uuid: string;
  readonly summary: string;
  readonly indicator: "info" | "warning" | "critical";
  readonly detail?: string;
  readonly source: { label: string; url?: string; topic?: { code: string; system?: string } };
  readonly suggestions?: {
    label: string;
    uuid: string;
    actions?: {
      type: string;
      description: string;
      resource?: Record<string, unknown>;
      resourceId?: string;
    }[];
  }[];
  readonly selectionBehavior?: string;
  readonly overrideReasons?: { code: string; display: string }[];
  readonly links?: { label: string; url: string; type: string }[];
  readonly extension?: {
    "ln-cds": {
      finding: string;
      evidence?: string[];
      criteria?: Record<string, string>;
      grade?: number;
    };
  };
}

export interface HookResult {
  readonly status: number;
  readonly body: { cards?: HookCard[] } & Record<string, unknown>;
}

export interface EhrContext {
  readonly userId: string;
  readonly patientId: string;
  readonly encounterId?: string;
  readonly selections?: readonly string[];
  readonly draftOrders?: Bundle;
}

export class MiniEhr {
  /** FHIR requests this EHR made (to compare with the service's own fetching). */
  fhirRequests = 0;
  private discovery: DiscoveryEntry[] | undefined;
  private readonly cache = new Map<string, Promise<FhirResource | Bundle | null>>();

  constructor(
    private readonly app: Express,
    private readonly fhirBase: string,
    private readonly token = "ehr-access-token",
  ) {}

  async services(): Promise<DiscoveryEntry[]> {
    if (!this.discovery) {
      const res = await request(this.app).get("/cds-services").expect(200);
      this.discovery = (res.body as { services: DiscoveryEntry[] }).services;
    }
    return this.discovery;
  }

  /** Renders the tokens CDS Hooks 2.0 defines for the context fields this EHR knows. */
  static render(template: string, context: EhrContext): string {
    return template.replace(/\{\{\s*context\.(\w+)\s*\}\}/g, (_m, name: string) => {
      const value = (context as unknown as Record<string, unknown>)[name];
      if (typeof value !== "string") throw new Error(`the EHR cannot render context.${name}`);
      return value;
    });
  }

  private async getJson(url: string): Promise<{ status: number; body: unknown }> {
    this.fhirRequests += 1;
    const res = await fetch(url, {
      headers: { accept: "application/fhir+json", authorization: `Bearer ${this.token}` },
    });
    return { status: res.status, body: await res.json() };
  }

  /** One prefetch key: a read gives the resource (or null), a search one Bundle of every page. */
  fetchPrefetch(relative: string): Promise<FhirResource | Bundle | null> {
    let cached = this.cache.get(relative);
    if (!cached) {
      cached = this.fetchUncached(relative);
      this.cache.set(relative, cached);
    }
    return cached;
  }

  private async fetchUncached(relative: string): Promise<FhirResource | Bundle | null> {
    const first = await this.getJson(`${this.fhirBase}/${relative}`);
    if (!relative.includes("?")) {
      if (first.status === 404) return null;
      if (first.status !== 200) throw new Error(`EHR read ${relative}: HTTP ${first.status}`);
      return first.body as FhirResource;
    }
    if (first.status !== 200) throw new Error(`EHR search ${relative}: HTTP ${first.status}`);
    const entries: BundleEntry[] = [];
    let page = first.body as Bundle;
    for (;;) {
      entries.push(
        ...(page.entry ?? []).map((e) => ({ resource: e.resource, fullUrl: e.fullUrl })),
      );
      const next = page.link?.find((l) => l.relation === "next")?.url;
      if (!next) break;
      const res = await this.getJson(next);
      if (res.status !== 200) throw new Error(`EHR next page: HTTP ${res.status}`);
      page = res.body as Bundle;
    }
    return { resourceType: "Bundle", type: "searchset", total: entries.length, entry: entries };
  }

  /** Every key of the service's discovery entry for `hook`, rendered and fetched. */
  async prefetchFor(serviceId: string, hook: string, context: EhrContext) {
    const entry = (await this.services()).find((s) => s.id === serviceId && s.hook === hook);
    if (!entry) throw new Error(`discovery has no ${serviceId} for ${hook}`);
    const prefetch: Record<string, unknown> = {};
    for (const [key, template] of Object.entries(entry.prefetch ?? {}))
      prefetch[key] = await this.fetchPrefetch(MiniEhr.render(template, context));
    return prefetch;
  }

  async call(
    serviceId: string,
    hook: string,
    context: EhrContext,
    options: { prefetch: boolean },
  ): Promise<HookResult> {
    const body = {
      hook,
      hookInstance: randomUUID(),
      fhirServer: this.fhirBase,
      fhirAuthorization: {
        access_token: this.token,
        token_type: "Bearer",
        expires_in: 300,
        scope: "patient/*.read",
        subject: "ln-cds",
      },
      context,
      ...(options.prefetch ? { prefetch: await this.prefetchFor(serviceId, hook, context) } : {}),
    };
    const res = await request(this.app).post(`/cds-services/${serviceId}`).send(body);
    return { status: res.status, body: res.body as HookResult["body"] };
  }
}

/** Cards without what differs between two calls by design (uuids of cards and suggestions). */
export function comparable(cards: readonly HookCard[]): unknown[] {
  return cards.map((c) => ({
    ...c,
    uuid: "*",
    ...(c.suggestions ? { suggestions: c.suggestions.map((s) => ({ ...s, uuid: "*" })) } : {}),
  }));
}

/** A draft iguratimod order as an EHR sends it in `draftOrders` (fixtures/build.ts). */
export const iguratimodDraft = draftIguratimodOrder;
