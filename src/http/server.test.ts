import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { jsonBody } from "./json-body.js";
import { createAppServer, messageClasses } from "./server.js";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) =>
          s.close(() => {
            resolve();
          }),
        ),
    ),
  );
});

type Seen = Array<{ req: boolean; res: boolean }>;

/** An app that echoes what express made of the request. */
function echoApp(): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.post("/echo/:id", jsonBody({ limitBytes: 10_000 }), (req, res) => {
    res
      .status(201)
      .json({ id: req.params.id, header: req.get("x-probe"), body: req.body as unknown });
  });
  return app;
}

/** Starts `server` for `app`; `seen` gets each message's prototypes as node handed it over,
 *  before express's own handler ran. */
async function start(
  server: http.Server,
  app: express.Express,
): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = [];
  server.prependListener("request", (req, res) => {
    seen.push({
      req: Object.getPrototypeOf(req) === app.request,
      res: Object.getPrototypeOf(res) === app.response,
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const post = (url: string) =>
  fetch(`${url}/echo/abc`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-probe": "yes" },
    body: JSON.stringify({ hook: "patient-view" }),
  });

describe("createAppServer", () => {
  it("hands express requests and responses that already have the app's prototypes", async () => {
    const app = echoApp();
    const { url, seen } = await start(createAppServer(app), app);
    const res = await post(url);
    expect(res.status).toBe(201);
    expect(seen).toEqual([{ req: true, res: true }]);
  });

  it("serves the app as node's own server does: params, headers, body, status, 404", async () => {
    const app = echoApp();
    const { url } = await start(createAppServer(app), app);
    const res = await post(url);
    expect(await res.json()).toEqual({
      id: "abc",
      header: "yes",
      body: { hook: "patient-view" },
    });
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
  });

  it("differs from a plain node server, where express must move each message's prototype", async () => {
    const app = echoApp();
    const { url, seen } = await start(http.createServer(app), app);
    expect((await post(url)).status).toBe(201);
    expect(seen).toEqual([{ req: false, res: false }]);
  });

  it("keeps separate apps apart: each server uses its own app's prototypes", async () => {
    const appOne = echoApp();
    const appTwo = echoApp();
    const one = await start(createAppServer(appOne), appOne);
    const two = await start(createAppServer(appTwo), appTwo);
    await post(one.url);
    await post(two.url);
    expect(one.seen).toEqual([{ req: true, res: true }]);
    expect(two.seen).toEqual([{ req: true, res: true }]);
  });

  it("falls back to node's own constructors when they are ES classes, and still serves", async () => {
    // Node 20's constructors are plain functions; a future node may make them classes, which
    // cannot be run on an object made elsewhere. Stand-ins that are classes take that path.
    class ClassRequest extends http.IncomingMessage {}
    class ClassResponse extends http.ServerResponse {}
    const app = echoApp();
    const options = messageClasses(app, {
      IncomingMessage: ClassRequest,
      ServerResponse: ClassResponse,
    });
    expect(options).toEqual({});
    const { url, seen } = await start(http.createServer(options, app), app);
    const res = await post(url);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ id: "abc", body: { hook: "patient-view" } });
    expect(seen).toEqual([{ req: false, res: false }]);
    // On this node the real constructors are functions, so the prototypes are set up front.
    expect(Object.keys(messageClasses(app)).sort()).toEqual(["IncomingMessage", "ServerResponse"]);
  });
});
