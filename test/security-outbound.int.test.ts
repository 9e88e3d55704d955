/**
 * safeFetch against real listeners (docs/cds-contract.md#requests-and-errors): allow-listed origins only, decided before any
 * socket; no redirect to another origin; response and request size limits; a timeout.
 */
import { afterEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import {
  OutboundRefused,
  OutboundTimeout,
  isAllowedUrl,
  safeFetch,
  safeRequest,
} from "../src/net/outbound.js";
import { listenerPool, type Handler } from "./support/jwks-server.js";

const { listen, closeAll } = listenerPool();
afterEach(closeAll);

const ok: Handler = (_req, res) => {
  res.writeHead(200, { "content-type": "application/json" }).end('{"resourceType":"Bundle"}');
};
const limits = (allowlist: string[]) => ({ allowlist, timeoutMs: 2000, maxResponseBytes: 1024 });

async function refusal(promise: Promise<unknown>): Promise<OutboundRefused> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundRefused);
  return error as OutboundRefused;
}

describe("safeFetch allow-list", () => {
  it("fetches an allow-listed origin and hands back the body", async () => {
    const fhir = await listen(ok);
    const res = await safeFetch(
      fhir.origin + "/Observation?patient=Patient/1",
      {},
      limits([fhir.origin]),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ resourceType: "Bundle" });
  });

  it("refuses an origin not on the allow-list: zero connections reach it", async () => {
    const allowed = await listen(ok);
    const target = await listen(ok);
    const error = await refusal(
      safeFetch(target.origin + "/Patient/1", {}, limits([allowed.origin])),
    );
    expect(error.reason).toBe("origin-not-allowed");
    expect(error.origin).toBe(target.origin);
    expect(target.connections()).toBe(0);
    expect(allowed.connections()).toBe(0);
  });

  it("treats another port or scheme of the same host as another origin", async () => {
    const target = await listen(ok);
    const port = Number(new URL(target.origin).port);
    expect(isAllowedUrl(target.origin + "/x", [`http://127.0.0.1:${port + 1}`])).toBe(false);
    expect(isAllowedUrl(target.origin.replace("http:", "https:") + "/x", [target.origin])).toBe(
      false,
    );
    expect(isAllowedUrl(target.origin + "/x", [target.origin + "/"])).toBe(true);
  });

  it("refuses non-http schemes, credentials in the URL and garbage", async () => {
    const target = await listen(ok);
    const withCredentials = target.origin.replace("http://", "http://user:pw@") + "/x";
    for (const url of [
      "file:///etc/passwd",
      "ftp://127.0.0.1/x",
      withCredentials,
      "not a url",
      "javascript:alert(1)",
    ]) {
      expect((await refusal(safeFetch(url, {}, limits([target.origin])))).reason).toBe("bad-url");
    }
    expect(target.connections()).toBe(0);
  });
});

describe("safeFetch redirects", () => {
  it("does not follow a redirect to another origin, even an allow-listed one", async () => {
    const other = await listen(ok);
    const fhir = await listen((_req, res) => {
      res.writeHead(302, { location: other.origin + "/Patient/1" }).end();
    });
    const error = await refusal(
      safeFetch(fhir.origin + "/Patient/1", {}, limits([fhir.origin, other.origin])),
    );
    expect(error.reason).toBe("redirect-refused");
    expect(fhir.count()).toBe(1);
    expect(other.connections()).toBe(0);
  });

  it("follows one same-origin redirect of a GET, and refuses a second", async () => {
    const fhir = await listen((req, res) => {
      if (req.url === "/old") res.writeHead(301, { location: "/new" }).end();
      else if (req.url === "/loop") res.writeHead(302, { location: "/loop" }).end();
      else ok(req, res);
    });
    const res = await safeFetch(fhir.origin + "/old", {}, limits([fhir.origin]));
    expect(res.status).toBe(200);
    expect(fhir.requests.map((r) => r.path)).toEqual(["/old", "/new"]);
    expect(
      (await refusal(safeFetch(fhir.origin + "/loop", {}, limits([fhir.origin])))).reason,
    ).toBe("redirect-refused");
    expect(fhir.count("/loop")).toBe(2);
  });

  it("does not follow a redirect of a POST (a webhook body is never re-sent elsewhere)", async () => {
    const hook = await listen((_req, res) => {
      res.writeHead(307, { location: "/elsewhere" }).end();
    });
    const error = await refusal(
      safeFetch(hook.origin + "/hook", { method: "POST", body: "{}" }, limits([hook.origin])),
    );
    expect(error.reason).toBe("redirect-refused");
    expect(hook.count("/elsewhere")).toBe(0);
  });
});

describe("safeFetch size limits and timeout", () => {
  it("refuses a response whose declared length exceeds the limit", async () => {
    const big = await listen((_req, res) => {
      res.writeHead(200, { "content-length": "5000" }).end("x".repeat(5000));
    });
    expect((await refusal(safeFetch(big.origin, {}, limits([big.origin])))).reason).toBe(
      "response-too-large",
    );
  });

  it("cuts off a chunked response that grows past the limit", async () => {
    const stream = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("x".repeat(800));
      res.write("x".repeat(800));
      res.end();
    });
    expect((await refusal(safeFetch(stream.origin, {}, limits([stream.origin])))).reason).toBe(
      "response-too-large",
    );
  });

  it("refuses a request body over maxRequestBytes before connecting", async () => {
    const hook = await listen(ok);
    const error = await refusal(
      safeFetch(
        hook.origin,
        { method: "POST", body: "y".repeat(101) },
        { ...limits([hook.origin]), maxRequestBytes: 100 },
      ),
    );
    expect(error.reason).toBe("request-too-large");
    expect(hook.connections()).toBe(0);
  });

  it("gives up after the timeout on a server that never answers", async () => {
    const silent = await listen(() => {
      /* never answers */
    });
    const started = Date.now();
    const error = await safeFetch(
      silent.origin,
      {},
      { ...limits([silent.origin]), timeoutMs: 300 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundTimeout);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("times out a body that trickles in too slowly", async () => {
    const slow = await listen((_req, res) => {
      res.writeHead(200);
      res.write("{");
      // never ends
    });
    const error = await safeFetch(
      slow.origin,
      {},
      { ...limits([slow.origin]), timeoutMs: 300 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundTimeout);
  });
});

describe("safeRequest transport (node:http with keep-alive)", () => {
  it("reuses one connection for requests one after another", async () => {
    const fhir = await listen(ok);
    for (let i = 0; i < 3; i++) {
      const answer = await safeRequest(
        fhir.origin + `/Patient/${String(i)}`,
        {},
        limits([fhir.origin]),
      );
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body.toString("utf8"))).toEqual({ resourceType: "Bundle" });
    }
    expect(fhir.requests).toHaveLength(3);
    expect(fhir.connections()).toBe(1);
  });

  it("decodes a gzip answer, and counts the limit on the decoded bytes (a zip bomb is cut off)", async () => {
    const small = gzipSync('{"resourceType":"Bundle","total":0}');
    const bomb = gzipSync("0".repeat(5_000_000)); // about 5 KB on the wire
    const fhir = await listen((req, res) => {
      res
        .writeHead(200, { "content-type": "application/fhir+json", "content-encoding": "gzip" })
        .end(req.url === "/bomb" ? bomb : small);
    });
    const answer = await safeRequest(fhir.origin + "/small", {}, limits([fhir.origin]));
    expect(JSON.parse(answer.body.toString("utf8"))).toEqual({ resourceType: "Bundle", total: 0 });
    expect(fhir.requests[0]?.headers["accept-encoding"]).toContain("gzip");
    expect(bomb.length).toBeLessThan(100_000);
    const refused = await refusal(
      safeRequest(
        fhir.origin + "/bomb",
        {},
        { ...limits([fhir.origin]), maxResponseBytes: 100_000 },
      ),
    );
    expect(refused.reason).toBe("response-too-large");
  });

  it("stops at once when the caller aborts, with an AbortError", async () => {
    const silent = await listen(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const pending = safeRequest(
      silent.origin,
      { signal: controller.signal },
      limits([silent.origin]),
    );
    setTimeout(() => {
      controller.abort();
    }, 50);
    const started = Date.now();
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("sends the body and headers of a POST, with its length", async () => {
    let received = "";
    const hook = await listen((req, res) => {
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (received += chunk));
      req.on("end", () => res.writeHead(204).end());
    });
    const answer = await safeRequest(
      hook.origin + "/alerts",
      { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":"é"}' },
      limits([hook.origin]),
    );
    expect(answer.status).toBe(204);
    expect(received).toBe('{"a":"é"}');
    expect(hook.requests[0]?.headers["content-length"]).toBe(
      String(Buffer.byteLength('{"a":"é"}')),
    );
    expect(hook.requests[0]?.headers["content-type"]).toBe("application/json");
  });
});

describe("safeRequest when the request cannot even be made", () => {
  it("a header that node refuses rejects at once and leaves no timer behind", async () => {
    const fhir = await listen(ok);
    const uncaught: unknown[] = [];
    const record = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on("uncaughtException", record);
    try {
      const error = await safeRequest(
        fhir.origin + "/Patient/1",
        { headers: { authorization: "Bearer token-with-newline\n" } },
        { allowlist: [fhir.origin], timeoutMs: 50, maxResponseBytes: 1024 },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as NodeJS.ErrnoException).code).toBe("ERR_INVALID_CHAR");
      // The old client armed its timeout first and its callback threw once it fired.
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught).toEqual([]);
      expect(fhir.connections()).toBe(0);
    } finally {
      process.off("uncaughtException", record);
    }
  });
});
