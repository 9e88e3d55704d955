/**
 * Every CDS Hooks 2.0 invariant of a service response, checked in one place before it is sent
 * (docs/cds-contract.md#cards): the card's shape by its zod schema (`cardSchema`, the one
 * declaration of a card), then the rules that join fields (suggestions need a selectionBehavior;
 * a delete action names its resourceId and carries no resource; appContext only on smart links)
 * and "no empty values" anywhere. Each violation names its rule and the JSON path of the
 * offending value. A card ln-cds builds is first read by a quick check that passes only cards
 * certainly free of every violation; any other card takes the full check.
 *
 * In tests a violation throws, so a service that builds a bad card fails its test; in production
 * the invalid suggestion, or the invalid card, is left out and logged as an error, and the rest of
 * the response still goes out.
 */
import type { z } from "zod";
import type { Logger } from "../log.js";
import { actionSchema, cardSchema, linkSchema, type Card, type CdsResponse } from "./schemas.js";

export type ResponseRule =
  | "summary-length"
  | "indicator"
  | "source-label"
  | "selection-behavior"
  | "action-description"
  | "action-type"
  | "delete-resource-id"
  | "app-context-smart-only"
  | "link-type"
  | "override-reason-display"
  | "no-empty-values"
  | "uuid"
  | "shape";

export interface Violation {
  readonly rule: ResponseRule;
  /** JSON path, e.g. `$.cards[0].suggestions[1].actions[0].description`. */
  readonly path: string;
  readonly message: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

const joinPath = (root: string, segments: readonly PropertyKey[]): string =>
  root + segments.map((s) => (typeof s === "number" ? `[${String(s)}]` : `.${String(s)}`)).join("");

/**
 * CDS Hooks 2.0: no null, "", [] or {} anywhere (an absent field is simply left out). The path
 * of a value is kept as its segments (`[0]`, `.detail`) after `root`, and joined only for a
 * violation: a valid card, the usual case, builds no path string per value.
 */
function emptyValues(
  value: unknown,
  root: string,
  out: Violation[],
  segments: (string | number)[] = [],
): void {
  if (value === null || value === "") {
    out.push({
      rule: "no-empty-values",
      path: joinPath(root, segments),
      message: `${value === null ? "null" : "empty string"} is not allowed`,
    });
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0)
      out.push({
        rule: "no-empty-values",
        path: joinPath(root, segments),
        message: "empty array is not allowed",
      });
    for (let i = 0; i < value.length; i++) {
      segments.push(i);
      emptyValues(value[i], root, out, segments);
      segments.pop();
    }
    return;
  }
  if (isObject(value)) {
    let entries = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      entries += 1;
      const item = value[key];
      if (item === undefined) continue; // dropped by JSON.stringify
      segments.push(key);
      emptyValues(item, root, out, segments);
      segments.pop();
    }
    if (entries === 0)
      out.push({
        rule: "no-empty-values",
        path: joinPath(root, segments),
        message: "empty object is not allowed",
      });
  }
}

/** The rule a schema issue breaks, from where it is: the last named field and what holds it. */
function ruleOf(issuePath: readonly PropertyKey[]): ResponseRule {
  const named = issuePath.filter((p): p is string => typeof p === "string");
  const field = named.at(-1) ?? "";
  const holder = named.at(-2);
  switch (field) {
    case "uuid":
      return "uuid";
    case "summary":
      return "summary-length";
    case "indicator":
      return "indicator";
    case "selectionBehavior":
      return "selection-behavior";
    case "source":
      return "source-label";
    case "label":
      return holder === "source" ? "source-label" : "shape";
    case "description":
      return holder === "actions" ? "action-description" : "shape";
    case "type":
      return holder === "links" ? "link-type" : holder === "actions" ? "action-type" : "shape";
    case "display":
      return holder === "overrideReasons" ? "override-reason-display" : "shape";
    default:
      return "shape";
  }
}

/** The schema's issues as violations; `holder` names what holds the value checked (an action). */
function schemaViolations(
  error: z.ZodError,
  root: string,
  out: Violation[],
  holder?: string,
): void {
  for (const issue of error.issues) {
    const where = holder === undefined ? issue.path : [holder, 0, ...issue.path];
    out.push({ rule: ruleOf(where), path: joinPath(root, issue.path), message: issue.message });
  }
}

/** The rules of an action that join its fields: a delete names resourceId and carries no resource. */
function actionRules(action: unknown, path: string, out: Violation[]): void {
  if (!isObject(action) || action.type !== "delete") return;
  if (!isNonEmptyString(action.resourceId)) {
    out.push({
      rule: "delete-resource-id",
      path: `${path}.resourceId`,
      message: "a delete action names the resource with resourceId",
    });
  }
  if (action.resource !== undefined) {
    out.push({
      rule: "delete-resource-id",
      path: `${path}.resource`,
      message: "a delete action uses resourceId, not resource",
    });
  }
}

// ---------------------------------------------------------------- the quick check

/**
 * true when `value` holds no null, "", [] or {} anywhere: `emptyValues` finding nothing, without
 * the bookkeeping of a path.
 */
function holdsNoEmptyValue(value: unknown): boolean {
  if (value === null || value === "") return false;
  if (typeof value !== "object") return true;
  if (Array.isArray(value)) {
    if (value.length === 0) return false;
    for (let i = 0; i < value.length; i++) if (!holdsNoEmptyValue(value[i])) return false;
    return true;
  }
  let entries = 0;
  for (const key in value) {
    // hasOwnProperty.call, not Object.hasOwn: V8 knows the first in a for-in over a key it gave
    // (a third of this walk's time, measured).
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    entries += 1;
    const item = (value as Json)[key];
    if (item !== undefined && !holdsNoEmptyValue(item)) return false;
  }
  return entries > 0;
}

/** A plain object (made by a literal or JSON.parse), the only kind the quick check reads. */
const isPlain = (v: unknown): v is Json => {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Every key of `o` is one of `known` (own enumerable keys; symbols are never sent). */
function onlyKeys(o: Json, known: ReadonlySet<string>): boolean {
  for (const key in o) if (!known.has(key)) return false;
  return true;
}

const absentOr = (v: unknown, ok: (v: unknown) => boolean): boolean => v === undefined || ok(v);

/** The form `crypto.randomUUID()` gives: a subset of what `z.uuid()` accepts. */
const RANDOM_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const isUuid = (v: unknown): boolean => typeof v === "string" && RANDOM_UUID.test(v);

/**
 * URLs the card schema's own check accepted. A card's URLs are a handful of constants (the
 * study, the guidelines, the app's address), so each is checked once by that schema and then
 * looked up; the set is bounded and a URL beyond it is simply checked again.
 */
const goodUrls = new Set<string>();
const GOOD_URLS_MAX = 256;
function isGoodUrl(v: unknown): boolean {
  if (typeof v !== "string") return false;
  if (goodUrls.has(v)) return true;
  if (!linkSchema.shape.url.safeParse(v).success) return false;
  if (goodUrls.size < GOOD_URLS_MAX) goodUrls.add(v);
  return true;
}

const CARD_KEYS = new Set([
  "uuid",
  "summary",
  "detail",
  "indicator",
  "source",
  "suggestions",
  "selectionBehavior",
  "overrideReasons",
  "links",
  "extension",
]);
const SOURCE_KEYS = new Set(["label", "url", "icon", "topic"]);
const CODING_KEYS = new Set(["code", "system", "display"]);
const SUGGESTION_KEYS = new Set(["label", "uuid", "isRecommended", "actions"]);
const ACTION_KEYS = new Set(["type", "description", "resource", "resourceId"]);
const LINK_KEYS = new Set(["label", "url", "type", "appContext"]);
const INDICATORS = new Set(["info", "warning", "critical"]);
const SELECTION_BEHAVIORS = new Set(["at-most-one", "any"]);
/** A delete action has rules of its own: it takes the full check. */
const QUICK_ACTION_TYPES = new Set(["create", "update"]);
const LINK_TYPES = new Set(["absolute", "smart"]);

/** Summaries this short are under 140 characters however they are counted. */
const QUICK_SUMMARY_MAX_UNITS = 139;

const isCoding = (v: unknown, displayRequired: boolean): boolean =>
  isPlain(v) &&
  onlyKeys(v, CODING_KEYS) &&
  isNonEmptyString(v.code) &&
  absentOr(v.system, isNonEmptyString) &&
  (displayRequired ? isNonEmptyString(v.display) : absentOr(v.display, isNonEmptyString));

const isAction = (a: unknown): boolean =>
  isPlain(a) &&
  onlyKeys(a, ACTION_KEYS) &&
  QUICK_ACTION_TYPES.has(a.type as string) &&
  isNonEmptyString(a.description) &&
  absentOr(a.resource, (r) => isPlain(r) && holdsNoEmptyValue(r)) &&
  absentOr(a.resourceId, isNonEmptyString);

const isSuggestion = (s: unknown): boolean =>
  isPlain(s) &&
  onlyKeys(s, SUGGESTION_KEYS) &&
  isNonEmptyString(s.label) &&
  isUuid(s.uuid) &&
  absentOr(s.isRecommended, (b) => typeof b === "boolean") &&
  absentOr(s.actions, (a) => everyOf(a, isAction));

const isLink = (l: unknown): boolean =>
  isPlain(l) &&
  onlyKeys(l, LINK_KEYS) &&
  isNonEmptyString(l.label) &&
  isGoodUrl(l.url) &&
  LINK_TYPES.has(l.type as string) &&
  (l.appContext === undefined || (l.type === "smart" && isNonEmptyString(l.appContext)));

/** A non-empty array whose every item passes. */
function everyOf(v: unknown, ok: (item: unknown) => boolean): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) if (!ok(v[i])) return false;
  return true;
}

/**
 * true only when the card certainly has no violation at all: every field of the kind ln-cds
 * sends, read as strictly as the card schema, the joining rules and `emptyValues` read it, or
 * more strictly (a random UUID, a summary under 140 UTF-16 units, no delete action, no unknown
 * field, plain objects). Anything else (false) takes the full check, which names the faults, so
 * the quick check can never hide one; validate-response.test.ts holds it to that on thousands of
 * broken cards. Each card ln-cds builds passes here in a few microseconds, where the schema took
 * about twenty.
 */
export function certainlyValidCard(card: unknown): boolean {
  if (!isPlain(card) || !onlyKeys(card, CARD_KEYS)) return false;
  const { summary, source } = card;
  return (
    isUuid(card.uuid) &&
    typeof summary === "string" &&
    summary.length > 0 &&
    summary.length <= QUICK_SUMMARY_MAX_UNITS &&
    absentOr(card.detail, isNonEmptyString) &&
    INDICATORS.has(card.indicator as string) &&
    isPlain(source) &&
    onlyKeys(source, SOURCE_KEYS) &&
    isNonEmptyString(source.label) &&
    absentOr(source.url, isGoodUrl) &&
    absentOr(source.icon, isGoodUrl) &&
    absentOr(source.topic, (t) => isCoding(t, false)) &&
    absentOr(card.suggestions, (s) => everyOf(s, isSuggestion)) &&
    (card.suggestions === undefined
      ? absentOr(card.selectionBehavior, (b) => SELECTION_BEHAVIORS.has(b as string))
      : SELECTION_BEHAVIORS.has(card.selectionBehavior as string)) &&
    absentOr(card.overrideReasons, (r) => everyOf(r, (x) => isCoding(x, true))) &&
    absentOr(card.links, (l) => everyOf(l, isLink)) &&
    absentOr(card.extension, (e) => isPlain(e) && holdsNoEmptyValue(e))
  );
}

// ---------------------------------------------------------------- the full check

/** Violations of one card (paths relative to `path`). */
export function cardViolations(card: unknown, path = "$.cards[0]"): Violation[] {
  if (certainlyValidCard(card)) return [];
  return fullCardViolations(card, path);
}

/** Violations of one card by the schema, the joining rules and `emptyValues`. */
export function fullCardViolations(card: unknown, path = "$.cards[0]"): Violation[] {
  const out: Violation[] = [];
  if (!isObject(card)) return [{ rule: "shape", path, message: "a card must be an object" }];

  const parsed = cardSchema.safeParse(card);
  if (!parsed.success) schemaViolations(parsed.error, path, out);

  // The rules that join fields, on whatever of the card has the shape to be read.
  if (
    Array.isArray(card.suggestions) &&
    card.suggestions.length > 0 &&
    card.selectionBehavior === undefined
  ) {
    out.push({
      rule: "selection-behavior",
      path: `${path}.selectionBehavior`,
      message: "selectionBehavior is required when there are suggestions",
    });
  }
  if (Array.isArray(card.suggestions)) {
    card.suggestions.forEach((s: unknown, i) => {
      if (!isObject(s) || !Array.isArray(s.actions)) return;
      s.actions.forEach((a: unknown, j) => {
        actionRules(a, `${path}.suggestions[${i}].actions[${j}]`, out);
      });
    });
  }
  if (Array.isArray(card.links)) {
    card.links.forEach((l: unknown, i) => {
      if (isObject(l) && l.appContext !== undefined && l.type !== "smart") {
        out.push({
          rule: "app-context-smart-only",
          path: `${path}.links[${i}].appContext`,
          message: "appContext is only allowed on smart links",
        });
      }
    });
  }

  emptyValues(card, path, out);
  return out;
}

/** Every violation in a whole response. `cards: []` is the one empty value allowed. */
export function responseViolations(response: unknown): Violation[] {
  if (!isObject(response) || !Array.isArray(response.cards)) {
    return [{ rule: "shape", path: "$.cards", message: "a response needs a cards array" }];
  }
  const out: Violation[] = [];
  response.cards.forEach((card: unknown, i) => {
    out.push(...cardViolations(card, `$.cards[${i}]`));
  });
  if (response.systemActions !== undefined) {
    if (!Array.isArray(response.systemActions)) {
      out.push({
        rule: "shape",
        path: "$.systemActions",
        message: "systemActions must be an array",
      });
    } else {
      response.systemActions.forEach((a: unknown, i) => {
        const at = `$.systemActions[${i}]`;
        const parsed = actionSchema.safeParse(a);
        if (!parsed.success) schemaViolations(parsed.error, at, out, "actions");
        actionRules(a, at, out);
      });
      emptyValues(response.systemActions, "$.systemActions", out);
    }
  }
  return out;
}

export class InvalidCdsResponseError extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(
      `invalid CDS Hooks response: ${violations.map((v) => `${v.path}: ${v.message} [${v.rule}]`).join("; ")}`,
    );
    this.name = "InvalidCdsResponseError";
  }
}

/**
 * A card whose only faults lie inside some of its suggestions, with those suggestions left out
 * (and `selectionBehavior` with them when none is left); undefined when the card itself is at
 * fault. A critical finding still reaches the clinician without a broken one-click action.
 */
function withoutBadSuggestions(
  card: Card,
  faults: readonly Violation[],
  index: number,
): Card | undefined {
  const prefix = `$.cards[${index}].suggestions[`;
  const bad = new Set<number>();
  for (const v of faults) {
    if (!v.path.startsWith(prefix)) return undefined;
    bad.add(Number(v.path.slice(prefix.length, v.path.indexOf("]", prefix.length))));
  }
  const kept = (card.suggestions ?? []).filter((_, i) => !bad.has(i));
  const { suggestions: _dropped, selectionBehavior: _behaviour, ...rest } = card;
  const repaired: Card =
    kept.length > 0
      ? { ...rest, suggestions: kept, selectionBehavior: card.selectionBehavior }
      : rest;
  return cardViolations(repaired).length === 0 ? repaired : undefined;
}

/**
 * Checks a response about to be sent. `mode: "test"` throws on any violation; `"production"`
 * leaves out each invalid suggestion, or the whole card when the card itself is invalid (logged
 * as an error with the rule and path only, no card text), and returns the rest.
 */
export function enforceValidResponse(
  response: CdsResponse,
  options: { mode: "test" | "production"; logger: Logger; serviceId: string },
): CdsResponse {
  const violations = responseViolations(response);
  if (violations.length === 0) return response;
  if (options.mode === "test") throw new InvalidCdsResponseError(violations);
  const faultsByCard = new Map<number, Violation[]>();
  for (const v of violations) {
    const m = /^\$\.cards\[(\d+)\]/.exec(v.path);
    if (m?.[1] === undefined) continue;
    const i = Number(m[1]);
    const faults = faultsByCard.get(i);
    if (faults) faults.push(v);
    else faultsByCard.set(i, [v]);
  }
  let droppedCards = 0;
  let droppedSuggestions = 0;
  const cards: Card[] = [];
  response.cards.forEach((card, i) => {
    const faults = faultsByCard.get(i);
    if (faults === undefined) {
      cards.push(card);
      return;
    }
    const repaired = withoutBadSuggestions(card, faults, i);
    if (repaired === undefined) {
      droppedCards += 1;
      return;
    }
    droppedSuggestions += (card.suggestions?.length ?? 0) - (repaired.suggestions?.length ?? 0);
    cards.push(repaired);
  });
  const systemActionsBad = violations.some((v) => v.path.startsWith("$.systemActions"));
  options.logger.error(
    {
      serviceId: options.serviceId,
      droppedCards,
      droppedSuggestions,
      violations: violations.map((v) => ({ rule: v.rule, path: v.path })),
    },
    "service returned invalid CDS Hooks content; it was left out of the response",
  );
  return systemActionsBad || response.systemActions === undefined
    ? { cards }
    : { cards, systemActions: response.systemActions };
}
