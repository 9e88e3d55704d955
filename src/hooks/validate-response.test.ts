import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import type { Card, CdsResponse } from "./schemas.js";
import {
  InvalidCdsResponseError,
  cardViolations,
  certainlyValidCard,
  enforceValidResponse,
  fullCardViolations,
  responseViolations,
  type ResponseRule,
} from "./validate-response.js";

const UUID_A = "4e0a3a1e-3283-4575-ab82-028d55fe2719";
const UUID_B = "e56e1945-20b3-4393-8503-a1a20fd73152";

function goodCard(): Record<string, unknown> {
  return {
    uuid: UUID_A,
    summary: "Iguratimod: week-24 partial response",
    indicator: "info",
    source: { label: "ln-cds", url: "https://doi.org/10.1177/0961203320941874" },
    suggestions: [
      {
        label: "Order urine protein",
        uuid: UUID_B,
        actions: [
          {
            type: "create",
            description: "Order 24-h urine protein",
            resource: { resourceType: "ServiceRequest" },
          },
        ],
      },
    ],
    selectionBehavior: "at-most-one",
    overrideReasons: [
      { code: "not-relevant", system: "urn:ln-cds:override", display: "Not relevant" },
    ],
    links: [{ label: "Study", url: "https://doi.org/10.1177/0961203320941874", type: "absolute" }],
  };
}

const rulesOf = (card: Record<string, unknown>): ResponseRule[] =>
  responseViolations({ cards: [card] }).map((v) => v.rule);

describe("CDS Hooks 2.0 response invariants", () => {
  it("a complete valid card has no violation", () => {
    expect(responseViolations({ cards: [goodCard()] })).toEqual([]);
  });

  it("cards: [] is allowed (the one empty value)", () => {
    expect(responseViolations({ cards: [] })).toEqual([]);
  });

  it("the official full response example has only the missing uuids to complain about", () => {
    const example = JSON.parse(
      readFileSync("test/cds-hooks-2.0-examples/response-cards-full-example.json", "utf8"),
    ) as unknown;
    const rules = new Set(responseViolations(example).map((v) => v.rule));
    expect([...rules].every((r) => r === "uuid")).toBe(true);
  });

  it("summary of 139 characters passes", () => {
    expect(rulesOf({ ...goodCard(), summary: "x".repeat(139) })).toEqual([]);
  });

  it("summary of 140 characters fails", () => {
    const v = responseViolations({ cards: [{ ...goodCard(), summary: "x".repeat(140) }] });
    expect(v.map((x) => [x.rule, x.path])).toEqual([["summary-length", "$.cards[0].summary"]]);
  });

  it("summary counts characters, not UTF-16 units (139 emoji pass)", () => {
    expect(rulesOf({ ...goodCard(), summary: "💊".repeat(139) })).toEqual([]);
  });

  it("indicator must be info, warning or critical (the obsolete hard-stop fails)", () => {
    expect(rulesOf({ ...goodCard(), indicator: "hard-stop" })).toEqual(["indicator"]);
  });

  it("source.label is required", () => {
    expect(rulesOf({ ...goodCard(), source: { url: "https://example.org" } })).toEqual([
      "source-label",
    ]);
  });

  it("selectionBehavior is required when there are suggestions", () => {
    const card = goodCard();
    delete card.selectionBehavior;
    expect(rulesOf(card)).toEqual(["selection-behavior"]);
  });

  it("every action has a description", () => {
    const card = goodCard();
    card.suggestions = [
      {
        label: "x",
        uuid: UUID_B,
        actions: [{ type: "create", resource: { resourceType: "ServiceRequest" } }],
      },
    ];
    const v = responseViolations({ cards: [card] });
    expect(v.map((x) => [x.rule, x.path])).toEqual([
      ["action-description", "$.cards[0].suggestions[0].actions[0].description"],
    ]);
  });

  it("a delete action uses resourceId", () => {
    const card = goodCard();
    card.suggestions = [
      { label: "x", uuid: UUID_B, actions: [{ type: "delete", description: "Stop warfarin" }] },
    ];
    expect(rulesOf(card)).toEqual(["delete-resource-id"]);
  });

  it("a delete action carries no resource", () => {
    const card = goodCard();
    card.suggestions = [
      {
        label: "x",
        uuid: UUID_B,
        actions: [
          {
            type: "delete",
            description: "Stop",
            resourceId: "MedicationRequest/1",
            resource: { resourceType: "MedicationRequest" },
          },
        ],
      },
    ];
    expect(rulesOf(card)).toEqual(["delete-resource-id"]);
  });

  it("appContext only on smart links", () => {
    const card = goodCard();
    card.links = [
      { label: "App", url: "https://app.example.org", type: "absolute", appContext: "x" },
    ];
    expect(rulesOf(card)).toEqual(["app-context-smart-only"]);
  });

  it("appContext on a smart link passes", () => {
    const card = goodCard();
    card.links = [
      { label: "App", url: "https://app.example.org/launch", type: "smart", appContext: "x" },
    ];
    expect(rulesOf(card)).toEqual([]);
  });

  it("override reasons have a display", () => {
    const card = goodCard();
    card.overrideReasons = [{ code: "x", system: "urn:ln-cds:override" }];
    expect(rulesOf(card)).toEqual(["override-reason-display"]);
  });

  it.each([
    ["null", null],
    ["empty string", ""],
    ["empty array", []],
    ["empty object", {}],
  ])("no %s anywhere", (_name, value) => {
    const card = goodCard();
    card.detail = value;
    const v = responseViolations({ cards: [card] });
    expect(v.map((x) => [x.rule, x.path])).toContainEqual(["no-empty-values", "$.cards[0].detail"]);
  });

  it("an empty value deep inside an extension is found with its path", () => {
    const card = { ...goodCard(), extension: { "ln-cds": { finding: "anemia", evidence: [] } } };
    const v = responseViolations({ cards: [card] });
    expect(v.map((x) => x.path)).toEqual(["$.cards[0].extension.ln-cds.evidence"]);
  });

  it("runs the card's zod schema: a link's url must be an http(s) URL, a suggestion needs a label", () => {
    const card = goodCard();
    card.links = [{ label: "Study", url: "doi:10.1177/0961203320941874", type: "absolute" }];
    expect(responseViolations({ cards: [card] }).map((x) => [x.rule, x.path])).toEqual([
      ["shape", "$.cards[0].links[0].url"],
    ]);
    const unlabelled = goodCard();
    unlabelled.suggestions = [{ uuid: UUID_B }];
    expect(responseViolations({ cards: [unlabelled] }).map((x) => [x.rule, x.path])).toEqual([
      ["shape", "$.cards[0].suggestions[0].label"],
    ]);
  });

  it("checks systemActions by the action schema and the delete rule", () => {
    const v = responseViolations({
      cards: [],
      systemActions: [
        { type: "remove", description: "x" },
        { type: "delete", description: "Stop" },
      ],
    });
    expect(v.map((x) => [x.rule, x.path])).toEqual([
      ["action-type", "$.systemActions[0].type"],
      ["delete-resource-id", "$.systemActions[1].resourceId"],
    ]);
  });

  it("every card has a uuid", () => {
    const card = goodCard();
    delete card.uuid;
    expect(rulesOf(card)).toEqual(["uuid"]);
  });

  it("every suggestion has a uuid", () => {
    const card = goodCard();
    card.suggestions = [
      {
        label: "x",
        actions: [
          { type: "create", description: "d", resource: { resourceType: "ServiceRequest" } },
        ],
      },
    ];
    expect(rulesOf(card)).toEqual(["uuid"]);
  });
});

describe("enforcing the invariants", () => {
  const logged: string[] = [];
  const logger = createLogger("error", { write: (line: string) => void logged.push(line) });
  const response = (): CdsResponse => ({
    cards: [
      goodCard() as unknown as Card,
      { ...goodCard(), uuid: UUID_B, summary: "x".repeat(200) } as unknown as Card,
    ],
  });

  it("in tests a violation throws", () => {
    expect(() =>
      enforceValidResponse(response(), { mode: "test", logger, serviceId: "s" }),
    ).toThrow(InvalidCdsResponseError);
  });

  it("in production the invalid card is dropped, logged as an error, and the rest goes out", () => {
    logged.length = 0;
    const out = enforceValidResponse(response(), { mode: "production", logger, serviceId: "s" });
    expect(out.cards.map((c) => c.uuid)).toEqual([UUID_A]);
    expect(logged).toHaveLength(1);
    const line = JSON.parse(logged[0] ?? "{}") as {
      level: number;
      serviceId: string;
      droppedCards: number;
    };
    expect(line.level).toBe(50);
    expect(line.droppedCards).toBe(1);
    expect(logged[0]).not.toContain("xxxx");
  });

  it("in production a card whose only fault is inside a suggestion keeps its place without that suggestion", () => {
    // An EHR's own MedicationRequest copied into a "stop" action with an empty field in it: the
    // critical card must still reach the clinician, only without the broken action.
    const stop = {
      label: "Stop iguratimod",
      uuid: "0b4f7a3c-6b8e-4c1d-9a2e-5f6d7c8b9a01",
      actions: [
        {
          type: "update",
          description: "Stop the order",
          resource: { resourceType: "MedicationRequest", status: "stopped", note: [] },
        },
      ],
    };
    const critical = { ...goodCard(), indicator: "critical", suggestions: [stop] };
    const mixed = {
      ...goodCard(),
      uuid: UUID_B,
      suggestions: [...(goodCard().suggestions as unknown[]), stop],
    };
    logged.length = 0;
    const out = enforceValidResponse(
      { cards: [critical, mixed] as unknown as Card[] },
      { mode: "production", logger, serviceId: "s" },
    );
    expect(responseViolations(out)).toEqual([]);
    expect(out.cards.map((c) => [c.uuid, c.indicator])).toEqual([
      [UUID_A, "critical"],
      [UUID_B, "info"],
    ]);
    // The first card had only the broken suggestion: suggestions and selectionBehavior go.
    expect(out.cards[0]).not.toHaveProperty("suggestions");
    expect(out.cards[0]).not.toHaveProperty("selectionBehavior");
    expect(out.cards[0]?.summary).toBe(goodCard().summary);
    // The second keeps its good suggestion.
    expect(out.cards[1]?.suggestions?.map((x) => x.label)).toEqual(["Order urine protein"]);
    expect(out.cards[1]?.selectionBehavior).toBe("at-most-one");
    const line = JSON.parse(logged[0] ?? "{}") as {
      droppedCards: number;
      droppedSuggestions: number;
    };
    expect(line).toMatchObject({ droppedCards: 0, droppedSuggestions: 2 });
  });

  it("in production a suggestion the schema refuses is dropped and its card stays", () => {
    const card = goodCard();
    const broken = {
      label: "Stop iguratimod",
      uuid: "0b4f7a3c-6b8e-4c1d-9a2e-5f6d7c8b9a01",
      actions: [{ type: "update", description: "Stop", resource: "MedicationRequest/1" }],
    };
    card.suggestions = [...(card.suggestions as unknown[]), broken];
    const out = enforceValidResponse(
      { cards: [card] as unknown as Card[] },
      { mode: "production", logger, serviceId: "s" },
    );
    expect(out.cards.map((c) => c.uuid)).toEqual([UUID_A]);
    expect(out.cards[0]?.suggestions?.map((x) => x.label)).toEqual(["Order urine protein"]);
  });

  it("in production a card at fault itself is dropped even when its suggestions are fine", () => {
    const out = enforceValidResponse(
      { cards: [{ ...goodCard(), indicator: "urgent" }] as unknown as Card[] },
      { mode: "production", logger, serviceId: "s" },
    );
    expect(out.cards).toEqual([]);
  });
});

describe("the quick check never passes a card the full check faults", () => {
  /** Cards with every field ln-cds sends, the way its services build them. */
  const fullCards = (): Record<string, unknown>[] => [
    goodCard(),
    {
      ...goodCard(),
      detail: "Week-24 assessment: **PR**.\n\n| value | date |\n|---|---|\n| x | y |",
      indicator: "warning",
      source: {
        label: "ln-cds",
        url: "https://kdigo.org/guidelines/lupus-nephritis/",
        icon: "https://example.org/icon.png",
        topic: { system: "urn:ln-cds:finding", code: "anemia", display: "Anaemia" },
      },
      suggestions: [
        {
          label: "Order C3",
          uuid: UUID_B,
          isRecommended: true,
          actions: [
            {
              type: "create",
              description: "Create a draft order for C3",
              resource: {
                resourceType: "ServiceRequest",
                status: "draft",
                code: { coding: [{ system: "http://loinc.org", code: "4485-9" }] },
                subject: { reference: "Patient/p1" },
                reasonCode: [{ text: "work-up" }],
                quantity: 0,
                doNotPerform: false,
              },
            },
            { type: "update", description: "Stop it", resourceId: "MedicationRequest/1" },
          ],
        },
      ],
      selectionBehavior: "any",
      links: [
        { label: "Study", url: "https://doi.org/10.1186/s13075-020-02154-7", type: "absolute" },
        {
          label: "App",
          url: "http://127.0.0.1:8080/app/",
          type: "smart",
          appContext: '{"finding":"anemia"}',
        },
      ],
      extension: {
        "ln-cds": {
          finding: "anemia",
          evidence: ["Observation/1"],
          grade: 3,
          criteria: { a: "b" },
        },
      },
    },
  ];

  const BAD_VALUES: readonly unknown[] = [
    undefined,
    null,
    "",
    [],
    {},
    [null],
    [{}],
    [""],
    { a: "" },
    { a: [] },
    0,
    1,
    true,
    false,
    "x",
    "create",
    "delete",
    "smart",
    "any",
    "critical",
    "x".repeat(140),
    "💊".repeat(70),
    "💊".repeat(139),
    "doi:10.1186/s13075-020-02154-7",
    "http:example.org",
    "https://",
    "ftp://example.org/x",
    " https://example.org/x ",
    "https://exa mple.org/",
    UUID_A.toUpperCase(),
    "4e0a3a1e-3283-4575-0b82-028d55fe2719",
    "00000000-0000-0000-0000-000000000000",
    UUID_B,
    { code: "x" },
    { code: "x", display: "y" },
    { label: "l", url: "https://example.org/", type: "absolute" },
    { label: "l", uuid: UUID_B },
    { type: "delete", description: "d", resourceId: "X/1" },
    { type: "create", description: "d", resource: { resourceType: "X", note: [] } },
    new Date(0),
    Object.create(null) as unknown,
  ];

  /** Every path to a value inside `value` (objects' keys, arrays' indices). */
  function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
    const out: (string | number)[][] = [at];
    if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...at, i])));
    else if (typeof value === "object" && value !== null)
      for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]));
    return out;
  }

  /** A copy of `card` with the value at `path` replaced (or deleted, for undefined). */
  function mutated(card: unknown, path: (string | number)[], value: unknown): unknown {
    const copy = structuredClone(card) as Record<string | number, unknown>;
    let holder: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
    const last = path.at(-1);
    if (last === undefined) return value;
    if (value === undefined && !Array.isArray(holder)) Reflect.deleteProperty(holder, last);
    else holder[last] = value;
    return copy;
  }

  it("passes the cards ln-cds builds", () => {
    for (const card of fullCards()) {
      expect(certainlyValidCard(card)).toBe(true);
      expect(fullCardViolations(card)).toEqual([]);
    }
  });

  it("on every field of a card replaced by each of 41 wrong values, and unknown fields added", () => {
    let checked = 0;
    let faulted = 0;
    let quick = 0;
    for (const card of fullCards()) {
      for (const path of pathsOf(card)) {
        const variants = BAD_VALUES.map((v) => mutated(card, path, v));
        const holder = mutated(card, path, undefined);
        // An unknown field next to the value, and inside it when it is an object.
        variants.push(mutated(card, [...path.slice(0, -1), "unexpected"], "x"));
        const here = path.reduce<unknown>(
          (v, k) => (v as Record<string | number, unknown>)[k],
          card,
        );
        if (typeof here === "object" && here !== null && !Array.isArray(here))
          variants.push(mutated(card, [...path, "unexpected"], "x"));
        variants.push(holder);
        for (const variant of variants) {
          const full = fullCardViolations(variant);
          const passes = certainlyValidCard(variant);
          checked += 1;
          if (full.length > 0) faulted += 1;
          if (passes) quick += 1;
          if (passes) expect({ variant, full }).toEqual({ variant, full: [] });
          // What the response check reports is the full check's, whichever path is taken.
          expect(cardViolations(variant)).toEqual(full);
        }
      }
    }
    // The variants did reach both sides: many faulted, and some still passed the quick check.
    expect(checked).toBeGreaterThan(3000);
    expect(faulted).toBeGreaterThan(2000);
    expect(quick).toBeGreaterThan(50);
  });
});
