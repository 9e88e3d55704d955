/**
 * Every CDS Hooks 2.0 invariant of a service response, checked in one place before it is sent
 * (docs/cds-contract.md#cards). Each violation names its rule and the JSON path of the offending value.
 *
 * In tests a violation throws, so a service that builds a bad card fails its test; in production
 * the invalid suggestion, or the invalid card, is left out and logged as an error, and the rest of
 * the response still goes out.
 */
import type { Logger } from "../log.js";
import type { Card, CdsResponse } from "./schemas.js";

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

const INDICATORS = new Set(["info", "warning", "critical"]);
const ACTION_TYPES = new Set(["create", "update", "delete"]);
const LINK_TYPES = new Set(["absolute", "smart"]);
/** CDS Hooks 2.0: "summary ... SHALL be < 140 characters". */
const SUMMARY_MAX = 139;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
/** Characters as a reader counts them (code points, so an emoji or a CJK character is one). */
function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: unknown): boolean => typeof v === "string" && UUID.test(v);

const joinPath = (root: string, segments: readonly (string | number)[]): string =>
  root + segments.map((s) => (typeof s === "number" ? `[${String(s)}]` : `.${s}`)).join("");

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

function checkAction(action: unknown, path: string, out: Violation[]): void {
  if (!isObject(action)) {
    out.push({ rule: "shape", path, message: "an action must be an object" });
    return;
  }
  if (!isNonEmptyString(action.description)) {
    out.push({
      rule: "action-description",
      path: `${path}.description`,
      message: "every action needs a description",
    });
  }
  if (typeof action.type !== "string" || !ACTION_TYPES.has(action.type)) {
    out.push({
      rule: "action-type",
      path: `${path}.type`,
      message: "type must be create, update or delete",
    });
  }
  if (action.type === "delete") {
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
}

/** Violations of one card (paths relative to `path`). */
export function cardViolations(card: unknown, path = "$.cards[0]"): Violation[] {
  const out: Violation[] = [];
  if (!isObject(card)) return [{ rule: "shape", path, message: "a card must be an object" }];

  if (!isUuid(card.uuid))
    out.push({ rule: "uuid", path: `${path}.uuid`, message: "every card needs a uuid" });
  if (typeof card.summary !== "string" || card.summary.length === 0) {
    out.push({ rule: "summary-length", path: `${path}.summary`, message: "summary is required" });
  } else if (characterCount(card.summary) > SUMMARY_MAX) {
    out.push({
      rule: "summary-length",
      path: `${path}.summary`,
      message: `summary must be under 140 characters (has ${characterCount(card.summary)})`,
    });
  }
  if (typeof card.indicator !== "string" || !INDICATORS.has(card.indicator)) {
    out.push({
      rule: "indicator",
      path: `${path}.indicator`,
      message: "indicator must be info, warning or critical",
    });
  }
  if (!isObject(card.source) || !isNonEmptyString(card.source.label)) {
    out.push({
      rule: "source-label",
      path: `${path}.source.label`,
      message: "source.label is required",
    });
  }

  if (card.suggestions !== undefined) {
    if (!Array.isArray(card.suggestions)) {
      out.push({
        rule: "shape",
        path: `${path}.suggestions`,
        message: "suggestions must be an array",
      });
    } else {
      if (card.suggestions.length > 0 && card.selectionBehavior === undefined) {
        out.push({
          rule: "selection-behavior",
          path: `${path}.selectionBehavior`,
          message: "selectionBehavior is required when there are suggestions",
        });
      }
      card.suggestions.forEach((s: unknown, i) => {
        const sp = `${path}.suggestions[${i}]`;
        if (!isObject(s)) {
          out.push({ rule: "shape", path: sp, message: "a suggestion must be an object" });
          return;
        }
        if (!isUuid(s.uuid))
          out.push({ rule: "uuid", path: `${sp}.uuid`, message: "every suggestion needs a uuid" });
        if (Array.isArray(s.actions)) {
          s.actions.forEach((a: unknown, j) => {
            checkAction(a, `${sp}.actions[${j}]`, out);
          });
        }
      });
    }
  }
  if (
    card.selectionBehavior !== undefined &&
    card.selectionBehavior !== "at-most-one" &&
    card.selectionBehavior !== "any"
  ) {
    out.push({
      rule: "selection-behavior",
      path: `${path}.selectionBehavior`,
      message: "selectionBehavior must be at-most-one or any",
    });
  }

  if (Array.isArray(card.links)) {
    card.links.forEach((l: unknown, i) => {
      const lp = `${path}.links[${i}]`;
      if (!isObject(l)) {
        out.push({ rule: "shape", path: lp, message: "a link must be an object" });
        return;
      }
      if (typeof l.type !== "string" || !LINK_TYPES.has(l.type)) {
        out.push({
          rule: "link-type",
          path: `${lp}.type`,
          message: "link type must be absolute or smart",
        });
      }
      if (l.appContext !== undefined && l.type !== "smart") {
        out.push({
          rule: "app-context-smart-only",
          path: `${lp}.appContext`,
          message: "appContext is only allowed on smart links",
        });
      }
    });
  }

  if (Array.isArray(card.overrideReasons)) {
    card.overrideReasons.forEach((r: unknown, i) => {
      if (!isObject(r) || !isNonEmptyString(r.display)) {
        out.push({
          rule: "override-reason-display",
          path: `${path}.overrideReasons[${i}].display`,
          message: "every override reason needs a display",
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
        checkAction(a, `$.systemActions[${i}]`, out);
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
