/**
 * fhir-kit-client under the outbound policy (limitFhirKitClient): reads, searches and `next`
 * pages go only to allow-listed origins, redirects to another origin are not followed, and
 * response size and time are limited. Real listeners on port 0.
 */
import { Client } from "fhir-kit-client";
import { afterEach, describe, expect, it } from "vitest";
import { limitFhirKitClient } from "../src/net/fhir-kit-limits.js";
import { OutboundRefused, OutboundTimeout } from "../src/net/outbound.js";
import { listenerPool, type Handler } from "./support/jwks-server.js";

const { listen, closeAll } = listenerPool();
afterEach(closeAll);

const fhirJson =
  (body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "application/fhir+json" }).end(JSON.stringify(body));
  };

function client(
  baseUrl: string,
  allowlist: string[],
  extra: Partial<{ timeoutMs: number; maxResponseBytes: number }> = {},
) {
  return limitFhirKitClient(new Client({ baseUrl, bearerToken: "fhir-access-token" }), {
    allowlist,
    timeoutMs: extra.timeoutMs ?? 2000,
    maxResponseBytes: extra.maxResponseBytes ?? 100_000,
  });
}

describe("fhir-kit-client with outbound limits", () => {
  it("reads from an allow-listed server with the bearer token and FHIR accept header", async () => {
    const fhir = await listen(fhirJson({ resourceType: "Patient", id: "p1" }));
    const patient = await client(fhir.origin + "/fhir", [fhir.origin]).read({
      resourceType: "Patient",
      id: "p1",
    });
    expect(patient).toMatchObject({ resourceType: "Patient", id: "p1" });
    expect(fhir.requests[0]?.path).toBe("/fhir/Patient/p1");
    expect(fhir.requests[0]?.headers.authorization).toBe("Bearer fhir-access-token");
    expect(fhir.requests[0]?.headers.accept).toBe("application/fhir+json");
    // fhir-kit-client's hidden properties, built on demand.
    const hidden = patient as unknown as { __response: Response; __request: Request };
    expect(hidden.__response.status).toBe(200);
    expect(await hidden.__response.json()).toEqual({ resourceType: "Patient", id: "p1" });
    expect(hidden.__request.url).toBe(fhir.origin + "/fhir/Patient/p1");
    expect(hidden.__request.headers.get("authorization")).toBe("Bearer fhir-access-token");
    expect(Object.keys(patient)).toEqual(["resourceType", "id"]);
  });

  it("refuses a client with a request signer rather than send unsigned requests", () => {
    const signed = new Client({
      baseUrl: "https://fhir.hospital.example",
      requestSigner: () => undefined,
    });
    expect(() =>
      limitFhirKitClient(signed, {
        allowlist: ["https://fhir.hospital.example"],
        timeoutMs: 1000,
        maxResponseBytes: 1000,
      }),
    ).toThrow(/request signer/);
  });

  it("keeps fhir-kit-client's error shape for HTTP errors (status and OperationOutcome)", async () => {
    const fhir = await listen((_req, res) => {
      res
        .writeHead(404, { "content-type": "application/fhir+json" })
        .end('{"resourceType":"OperationOutcome"}');
    });
    const error = await client(fhir.origin, [fhir.origin])
      .read({ resourceType: "Patient", id: "gone" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      response: { status: 404, data: { resourceType: "OperationOutcome" } },
    });
  });

  it("refuses a base URL that is not allow-listed: zero connections", async () => {
    const target = await listen(fhirJson({ resourceType: "Patient" }));
    const error = await client(target.origin, ["https://fhir.hospital.example"])
      .read({ resourceType: "Patient", id: "p1" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefused);
    expect(target.connections()).toBe(0);
  });

  it("refuses a next link that points to another origin: that origin sees nothing", async () => {
    const elsewhere = await listen(fhirJson({ resourceType: "Bundle", entry: [] }));
    const fhir = await listen(
      fhirJson({
        resourceType: "Bundle",
        link: [{ relation: "next", url: elsewhere.origin + "/Observation?page=2" }],
      }),
    );
    const c = client(fhir.origin, [fhir.origin]);
    const first = await c.search({
      resourceType: "Observation",
      searchParams: { patient: "Patient/p1" },
    });
    const error = await Promise.resolve(c.nextPage({ bundle: first as never })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboundRefused);
    expect(elsewhere.connections()).toBe(0);
  });

  it("does not follow a FHIR server that redirects to another origin", async () => {
    const other = await listen(fhirJson({ resourceType: "Patient", id: "p1" }));
    const fhir = await listen((_req, res) => {
      res.writeHead(302, { location: other.origin + "/Patient/p1" }).end();
    });
    const error = await client(fhir.origin, [fhir.origin, other.origin])
      .read({ resourceType: "Patient", id: "p1" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "redirect-refused" });
    expect(other.connections()).toBe(0);
  });

  it("refuses a response over the size limit and a server slower than the timeout", async () => {
    const big = await listen(fhirJson({ resourceType: "Bundle", padding: "x".repeat(5000) }));
    const tooBig = await client(big.origin, [big.origin], { maxResponseBytes: 1000 })
      .search({ resourceType: "Observation" })
      .catch((e: unknown) => e);
    expect(tooBig).toMatchObject({ reason: "response-too-large" });
    const silent = await listen(() => {
      /* never answers */
    });
    const slow = await client(silent.origin, [silent.origin], { timeoutMs: 300 })
      .read({ resourceType: "Patient", id: "p1" })
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(OutboundTimeout);
  });
});
