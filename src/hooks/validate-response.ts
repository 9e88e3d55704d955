/**
 * Every CDS Hooks 2.0 invariant of a service response, checked in one place before it is sent
 * (docs/cds-contract.md#cards): the card's shape by its zod schema (`cardSchema`, the one
 * declaration of a card), then the rules that join fields (suggestions need a selectionBehavior;
 * a delete action names its resourceId and carries no resource; appContext only on smart links)
 * and "no empty values" anywhere. Each violation names its rule and the JSON path of the
 * offending value.
 *
 * In tests a violation throws, so a service that builds a bad card fails its test; in production
 * the invalid suggestion, or the invalid card, is left out and logged as an error, and the rest of
 * the response still goes out.
 */
import type { z } from "zod";
import type { Logger } from "../log.js";
import { actionSchema, cardSchema, type Card, type CdsResponse } from "./schemas.js";

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

/** Violations of one card (paths relative to `path`). */
export function cardViolations(card: unknown, path = "$.cards[0]"): Violation[] {
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
