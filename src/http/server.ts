/**
 * The HTTP server around an express app.
 *
 * `app.listen` makes node build every request and response as plain http objects, and express
 * then moves each one onto its own prototypes (`Object.setPrototypeOf` in `app.handle`). Changing
 * the prototype of a live object costs V8 its fast paths for that object: every later property
 * access on it, in node's stream and HTTP code as much as in ours, goes the slow way. Measured on
 * the bench body (120 KB, 10 connections), that is about 0.2 ms of CPU per request, a quarter of a
 * bare express app's whole cost.
 *
 * So the server builds requests and responses with express's prototypes from the start: express's
 * `setPrototypeOf` then finds the prototype already in place and does nothing. Everything else is
 * node's own server; an app handed to another server (supertest, tests) works the same, only
 * slower.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { Express } from "express";

/** How node's message constructors are run on an object we made. */
type NodeConstructor = (this: object, ...args: unknown[]) => void;

/** Node's message constructors; a parameter only so the fallback for ES classes can be tested. */
interface NodeMessages {
  IncomingMessage: unknown;
  ServerResponse: unknown;
}

/** True when `fn` is an ES class, which cannot be run on an object made elsewhere. */
function isClass(fn: unknown): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/**
 * Node's message constructors are plain functions, so a constructor of our own can run them on an
 * object that already has the app's prototype. (`Reflect.construct` with the app's prototype as
 * `new.target` was measured slower than express's own `setPrototypeOf`.) Should a future node make
 * them classes, the server keeps node's own constructors and only the saving is lost.
 */
export function messageClasses(app: Express, node: NodeMessages = http): http.ServerOptions {
  if (isClass(node.IncomingMessage) || isClass(node.ServerResponse)) return {};
  const IncomingMessage = node.IncomingMessage as NodeConstructor;
  const ServerResponse = node.ServerResponse as NodeConstructor;
  function AppRequest(this: http.IncomingMessage, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(
    this: http.ServerResponse,
    req: http.IncomingMessage,
    options?: http.ServerOptions,
  ): void {
    ServerResponse.call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return {
    IncomingMessage: AppRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: AppResponse as unknown as typeof http.ServerResponse,
  };
}

/** An http.Server serving `app`, with requests and responses made on the app's prototypes. */
export function createAppServer(app: Express): http.Server {
  return http.createServer(messageClasses(app), app);
}
