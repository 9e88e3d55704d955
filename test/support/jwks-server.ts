/**
 * A real HTTP listener on 127.0.0.1:0 that serves JWK Sets and records every connection and
 * request, so a test can prove what was (or was not) fetched.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { jwksOf, makeSigningKey, type SigningKey } from "./keys.js";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
}

export interface RecordingServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted (counts even a connection that never sent a request). */
  connections(): number;
  /** Requests whose path is `path` (all requests when omitted). */
  count(path?: string): number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function startRecordingServer(handler: Handler): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    count: (path) =>
      path === undefined ? requests.length : requests.filter((r) => r.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export interface JwksServer extends RecordingServer {
  /** Full URL of the set served at `path` (default "/jwks"). */
  url(path?: string): string;
  /** Replace the set served at `path` (key rotation). */
  setKeys(jwks: unknown, path?: string): void;
}

/** Serves `{ keys: [...] }` per path; 404 for a path without a set. */
export async function startJwksServer(initial?: unknown, path = "/jwks"): Promise<JwksServer> {
  const sets = new Map<string, unknown>();
  if (initial !== undefined) sets.set(path, initial);
  const recording = await startRecordingServer((req, res) => {
    const body = sets.get(req.url ?? "");
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  return {
    ...recording,
    url: (p = "/jwks") => recording.origin + p,
    setKeys: (jwks, p = "/jwks") => {
      sets.set(p, jwks);
    },
  };
}

/** Listeners for one test file: `listen` starts one, `closeAll` (in afterEach) stops them all. */
export function listenerPool(): {
  listen: (handler: Handler) => Promise<RecordingServer>;
  closeAll: () => Promise<void>;
} {
  const open: RecordingServer[] = [];
  return {
    listen: async (handler) => {
      const server = await startRecordingServer(handler);
      open.push(server);
      return server;
    },
    closeAll: async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
}

/**
 * An EHR's ES384 signing key with its JWK Set served at `/jwks`, for the tests of the enclosing
 * file or describe block: made in beforeAll, closed in afterAll. Read `key` and `jwks` inside
 * tests (or later hooks), once beforeAll has run.
 */
export function useSigningIssuer(): { readonly key: SigningKey; readonly jwks: JwksServer } {
  let key: SigningKey | undefined;
  let jwks: JwksServer | undefined;
  beforeAll(async () => {
    key = await makeSigningKey("ES384");
    jwks = await startJwksServer(jwksOf(key));
  });
  afterAll(async () => {
    await jwks?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useSigningIssuer: read before beforeAll ran");
    return value;
  };
  return {
    get key() {
      return ready(key);
    },
    get jwks() {
      return ready(jwks);
    },
  };
}
