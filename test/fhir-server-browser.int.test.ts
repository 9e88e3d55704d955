/**
 * The demo FHIR server as a browser client uses it (docs/cds-contract.md#real-clients): the CDS
 * Hooks Sandbox reads it from a page on another origin (CORS) and fills prefetch with
 * `POST [type]/_search` and form-encoded parameters, which must answer exactly as the GET.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bundle } from "fhir/r4.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { allFixtureBundles } from "../fixtures/index.js";
import { PATIENT_DATA_PREFETCH } from "../cds-services/shared/prefetch.js";

const REF = new Date("2026-01-15T00:00:00Z");
const PAGE_ORIGIN = "http://127.0.0.1:18699";
let server: RunningFhirServer;

beforeAll(async () => {
  server = await startFhirServer({ bundles: allFixtureBundles(REF) });
});
afterAll(async () => {
  await server.close();
});

/** A template filled for a patient, as the sandbox fills `{{context.patientId}}`. */
function filled(template: string, patientId: string): string {
  return template.replaceAll("{{context.patientId}}", patientId);
}

/** The search templates: `Type?params`, split as the sandbox splits them. */
const searchTemplates = Object.entries(PATIENT_DATA_PREFETCH).filter(([, t]) => t.includes("?"));

/** A searchset's own `meta.lastUpdated` is the time it was made: the one field two answers differ by. */
function withoutSearchTime(bundle: Bundle): Bundle {
  const { meta, ...rest } = bundle;
  if (meta === undefined) return bundle;
  const { lastUpdated: _made, ...otherMeta } = meta;
  return Object.keys(otherMeta).length === 0 ? rest : { ...rest, meta: otherMeta };
}

async function getJson(url: string): Promise<{ status: number; body: Bundle }> {
  const res = await fetch(url, { headers: { Accept: "application/json+fhir" } });
  return { status: res.status, body: (await res.json()) as Bundle };
}

/** What the sandbox sends: POST {base}/{type}/_search, the query's parameters form-encoded. */
async function postSearch(
  type: string,
  params: URLSearchParams,
  urlQuery = "",
): Promise<{ status: number; body: Bundle; headers: Headers }> {
  const res = await fetch(`${server.url}/${type}/_search${urlQuery}`, {
    method: "POST",
    headers: {
      Accept: "application/json+fhir",
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: PAGE_ORIGIN,
    },
    body: params.toString(),
  });
  return { status: res.status, body: (await res.json()) as Bundle, headers: res.headers };
}

/** Ids of every page, following `next` links. */
async function allIds(first: Bundle): Promise<string[]> {
  const ids: string[] = [];
  let page: Bundle | undefined = first;
  while (page !== undefined) {
    for (const e of page.entry ?? []) ids.push(`${e.resource?.resourceType}/${e.resource?.id}`);
    const next: string | undefined = page.link?.find((l) => l.relation === "next")?.url;
    page = next === undefined ? undefined : (await getJson(next)).body;
  }
  return ids;
}

describe("demo FHIR server: CORS for browser clients", () => {
  it("answers a preflight from any origin for GET and POST with Authorization, Content-Type, Accept", async () => {
    for (const method of ["GET", "POST"]) {
      const res = await fetch(`${server.url}/Observation/_search`, {
        method: "OPTIONS",
        headers: {
          Origin: PAGE_ORIGIN,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers": "authorization,content-type,accept",
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      const methods = (res.headers.get("access-control-allow-methods") ?? "").split(/, */);
      expect(methods).toContain(method);
      const headers = (res.headers.get("access-control-allow-headers") ?? "")
        .toLowerCase()
        .split(/, */);
      expect(headers).toEqual(expect.arrayContaining(["authorization", "content-type", "accept"]));
    }
  });

  it("puts Access-Control-Allow-Origin on reads, searches, metadata and errors", async () => {
    for (const path of ["metadata", "Patient/kang-04", "Condition?patient=kang-04", "Patient/x"]) {
      const res = await fetch(`${server.url}/${path}`, { headers: { Origin: PAGE_ORIGIN } });
      expect(res.headers.get("access-control-allow-origin"), path).toBe("*");
    }
  });

  it("does not count preflights as FHIR requests", async () => {
    server.stats.reset();
    await fetch(`${server.url}/Patient/kang-04`, {
      method: "OPTIONS",
      headers: { Origin: PAGE_ORIGIN, "Access-Control-Request-Method": "GET" },
    });
    expect(server.stats.requests).toBe(0);
  });
});

describe("demo FHIR server: POST [type]/_search with form-encoded parameters", () => {
  it.each(searchTemplates)(
    "answers the %s template exactly as the equivalent GET",
    async (_key, template) => {
      let found = 0;
      for (const patientId of [
        "kang-04",
        "scn-warfarin-active",
        "scn-critical-anemia-active-order",
      ]) {
        const search = filled(template, patientId);
        const [type, query] = search.split("?") as [string, string];
        const get = await getJson(`${server.url}/${search}`);
        const post = await postSearch(type, new URLSearchParams(query));
        expect(get.status).toBe(200);
        found += get.body.entry?.length ?? 0;
        expect(post.status, search).toBe(200);
        expect(post.headers.get("access-control-allow-origin")).toBe("*");
        expect(withoutSearchTime(post.body), search).toEqual(withoutSearchTime(get.body));
      }
      expect(found, "some patient has matches").toBeGreaterThan(0);
    },
  );

  it.each(searchTemplates)(
    "pages the %s template with self and next links that read every match once",
    async (_key, template) => {
      const search = filled(template, "kang-04");
      const [type, query] = search.split("?") as [string, string];
      const params = new URLSearchParams(query);
      const everything = await allIds((await getJson(`${server.url}/${search}`)).body);
      params.set("_count", "3");
      const first = await postSearch(type, params);
      expect(first.body.link?.find((l) => l.relation === "self")?.url).toContain(`/${type}?`);
      if (everything.length > 3) {
        expect(first.body.link?.find((l) => l.relation === "next")).toBeDefined();
      }
      expect(await allIds(first.body)).toEqual(everything);
    },
  );

  it("reads parameters from both the URL and the body, as FHIR allows", async () => {
    const get = await getJson(`${server.url}/Observation?patient=kang-04&_sort=-date&_count=5`);
    const post = await postSearch(
      "Observation",
      new URLSearchParams({ _sort: "-date", _count: "5" }),
      "?patient=kang-04",
    );
    expect(withoutSearchTime(post.body)).toEqual(withoutSearchTime(get.body));
  });

  it("refuses a body that is not form-encoded with an OperationOutcome (415)", async () => {
    const res = await fetch(`${server.url}/Observation/_search`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ patient: "kang-04" }),
    });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { resourceType: string; issue: { diagnostics: string }[] };
    expect(body.resourceType).toBe("OperationOutcome");
    expect(body.issue[0]?.diagnostics).toContain("application/x-www-form-urlencoded");
  });
});
