import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import {
  badRequest,
  errorMiddleware,
  forbidden,
  notFound,
  OperationOutcomeError,
  payloadTooLarge,
  preconditionFailed,
  serverError,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from "./errors.js";

/** An app whose one route fails as `fail` says, answered by the one error middleware. */
function appFailingWith(fail: () => unknown): express.Express {
  const app = express();
  app.get("/", () => {
    throw fail();
  });
  app.post("/json", express.json({ limit: 16 }), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorMiddleware(createLogger("silent")));
  return app;
}

describe("the error factories", () => {
  it("give each error its status, one error issue and its FHIR issue code", () => {
    const cases: Array<[OperationOutcomeError, number, string]> = [
      [badRequest("bad"), 400, "invalid"],
      [badRequest("deep", undefined, "too-costly"), 400, "too-costly"],
      [unauthorized(), 401, "login"],
      [forbidden("no"), 403, "forbidden"],
      [notFound(), 404, "not-found"],
      [preconditionFailed("no labs", "labs"), 412, "incomplete"],
      [payloadTooLarge(), 413, "too-costly"],
      [unsupportedMediaType(), 415, "not-supported"],
      [tooManyRequests(), 429, "throttled"],
      [serverError(), 500, "exception"],
      [serviceUnavailable("down"), 503, "transient"],
      [serviceUnavailable("slow", "timeout"), 503, "timeout"],
    ];
    for (const [error, status, code] of cases) {
      expect(error).toBeInstanceOf(OperationOutcomeError);
      expect(error.status).toBe(status);
      expect(error.outcome.issue).toEqual([expect.objectContaining({ severity: "error", code })]);
    }
  });
});

describe("errorMiddleware", () => {
  it("answers a thrown error with its status, its headers and its OperationOutcome", async () => {
    const res = await request(appFailingWith(() => unauthorized())).get("/");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe("Bearer");
    expect(res.headers["content-type"]).toMatch(/^application\/fhir\+json/);
    expect(JSON.parse(res.text)).toEqual({
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "login" }],
    });
  });

  it("answers a body parser's size refusal with 413 and an OperationOutcome", async () => {
    const res = await request(appFailingWith(() => undefined))
      .post("/json")
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ far: "more than sixteen bytes" }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "too-costly" }],
    });
  });

  it("answers anything unexpected with a bare 500, never the error's own message", async () => {
    const res = await request(appFailingWith(() => new Error("secret detail"))).get("/");
    expect(res.status).toBe(500);
    expect(res.text).not.toContain("secret detail");
    expect(JSON.parse(res.text)).toEqual({
      resourceType: "OperationOutcome",
      issue: [{ severity: "error", code: "exception", diagnostics: "internal error" }],
    });
  });
});
