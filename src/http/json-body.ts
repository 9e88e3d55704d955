/**
 * JSON request bodies from untrusted clients (docs/cds-contract.md#requests-and-errors).
 *
 * `express.json()` alone answers most hostile bodies, but three kinds get through it:
 * - nesting thousands of levels deep parses fine, then blows the stack of any recursive code
 *   downstream (schema checks, FHIR walkers) → a 500 or a crash. We refuse it right after
 *   parsing, with a walk that gives up at MAX_JSON_DEPTH (its own recursion goes no deeper) → 400.
 * - invalid UTF-8 is silently replaced by U+FFFD, so a resource id or code could change meaning.
 *   We decode strictly → 400.
 * - a `"__proto__"` key becomes an own property that any later `Object.assign` or merge turns
 *   into a prototype change. We drop it while parsing. (`constructor` keys are plain data and kept.)
 * Size (BODY_LIMIT_BYTES, counted after content decoding) stays with body-parser → 413.
 * Every refusal is an OperationOutcome, never a stack trace.
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import { isAscii } from "node:buffer";
import { badRequest, OperationOutcomeError } from "../outcomes.js";
import { bodyParserError, sendError } from "./errors.js";

/**
 * FHIR resources nest about a dozen levels; a Bundle of them in a hook request about 20. Also the
 * bound of checkParsed's recursion, so keep it in the hundreds at most.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Walks the parsed value once: refuses nesting deeper than `maxDepth` (recursive code downstream
 * must never see it) and removes every own `__proto__` key (JSON.parse makes it a plain own
 * property, which a later merge would turn into a prototype change). The walk recurses, but never
 * more than `maxDepth` + 1 frames: it throws on reaching that depth, so a 10,000-deep body (which
 * V8's iterative JSON.parse reads safely) cannot exhaust the stack. Walking the parsed objects
 * costs far less than scanning every byte of a large prefetch, and recursion less than a stack of
 * pending values.
 *
 * `protoKeys` is false when the text cannot hold a `__proto__` key: such a key is written either
 * as the nine plain characters or with a `\u` escape in it (no short escape such as `\n` makes
 * any of its letters), so text with neither holds none, and the walk looks for none. Nearly every
 * body is such text; the look-up per object was a tenth of the walk.
 */
function checkParsed(value: object, depth: number, maxDepth: number, protoKeys: boolean): void {
  if (depth > maxDepth) {
    throw badRequest(
      `the request body nests deeper than ${maxDepth} levels`,
      undefined,
      "too-costly",
    );
  }
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      if (typeof item === "object" && item !== null)
        checkParsed(item, depth + 1, maxDepth, protoKeys);
    }
    return;
  }
  if (protoKeys && Object.hasOwn(value, "__proto__")) {
    delete (value as Record<string, unknown>).__proto__;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === "object" && item !== null)
      checkParsed(item, depth + 1, maxDepth, protoKeys);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses an untrusted JSON body; throws a 400 OperationOutcomeError saying what is wrong. */
export function parseUntrustedJson(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): unknown {
  let text: string;
  try {
    // Most bodies are plain ASCII, which is valid UTF-8 as it stands: copied byte for byte
    // (latin1) it is the same string at about half the cost of the checking decoder.
    text = isAscii(bytes)
      ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
      : strictUtf8.decode(bytes);
  } catch {
    throw badRequest("the request body is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw badRequest("the request body is not valid JSON", undefined, "structure");
  }
  if (typeof parsed === "object" && parsed !== null) {
    checkParsed(parsed, 1, maxDepth, text.includes("__proto__") || text.includes("\\u"));
  }
  return parsed;
}

const JSON_TYPES = ["application/json", "application/fhir+json", "application/*+json"];

/** Distinct Content-Type values remembered; a client that sends ever new ones is only not cached. */
const MAX_REMEMBERED_TYPES = 64;
const jsonTypeOf = new Map<string, boolean>();

/**
 * Whether a request with a body declares it JSON (`req.is(JSON_TYPES)`). The route's 415 check
 * and the body parser both ask for every request, and nearly every request sends one of a
 * handful of header values: parsing the media type each time showed in profiles, so the answer
 * is kept per header value (for a request with a body the header alone decides it).
 */
function declaresJson(req: Request): boolean {
  const header = req.headers["content-type"];
  if (header === undefined) return false;
  const known = jsonTypeOf.get(header);
  if (known !== undefined) return known;
  const matched = req.is(JSON_TYPES);
  // null: no body, so nothing the header decides; not remembered.
  if (matched === null) return true;
  if (jsonTypeOf.size < MAX_REMEMBERED_TYPES) jsonTypeOf.set(header, matched !== false);
  return matched !== false;
}

/** As express (type-is) decides whether a request has a body. */
const hasBody = (req: Request): boolean =>
  req.headers["transfer-encoding"] !== undefined ||
  !Number.isNaN(Number(req.headers["content-length"]));

/**
 * A Content-Type that `req.is(JSON_TYPES)` does not refuse: JSON, or any type on a request
 * without a body (where `req.is` answers null). False without a Content-Type.
 */
export function isJsonRequest(req: Request): boolean {
  if (req.headers["content-type"] === undefined) return false;
  return !hasBody(req) || declaresJson(req);
}

/**
 * Body parser for JSON and FHIR JSON. Sets `req.body` to the parsed value (undefined when the
 * request has no JSON body). Answers 400/413/415 with an OperationOutcome itself.
 */
export function jsonBody(options: { limitBytes: number; maxDepth?: number }): RequestHandler {
  // body-parser calls `type` only for a request with a body.
  const raw = express.raw({
    type: (req) => declaresJson(req as Request),
    limit: options.limitBytes,
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    raw(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        sendError(
          res,
          bodyParserError(err, options.limitBytes) ??
            badRequest("the request body could not be read"),
        );
        return;
      }
      const body: unknown = req.body;
      if (!Buffer.isBuffer(body)) {
        next();
        return;
      }
      if (body.length === 0) {
        req.body = undefined;
        next();
        return;
      }
      try {
        req.body = parseUntrustedJson(body, options.maxDepth);
      } catch (error) {
        if (error instanceof OperationOutcomeError) {
          sendError(res, error);
          return;
        }
        throw error;
      }
      next();
    });
  };
}
