/**
 * Nothing names a document a person who clones the repository does not have. Code and comments
 * cite the rules and the contract as `docs/clinical-rules.md#…` and `docs/cds-contract.md#…`;
 * cards cite public sources only (the study's DOI, KDIGO 2024, CTCAE v5.0, the labels), so they
 * name no project document at all (docs/clinical-rules.md#9-cards).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Bundle, FhirResource } from "fhir/r4.js";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { defaultServices } from "../cds-services/index.js";
import { draftIguratimodOrder } from "../fixtures/build.js";
import { allFixtureBundles, patientPrefetch, resourcesOf } from "../fixtures/index.js";
import { testConfig } from "../src/config.js";
import { protocolApp } from "./support/protocol-app.js";

/**
 * Ways of naming a document outside the repository: the rules or the contract by section or
 * by name without `docs/`, a design note, an issue, the shared spec and reference folders.
 */
const OUTSIDE: readonly RegExp[] = [
  /(?<!docs\/)\bclinical-rules\b/i,
  /(?<!docs\/)\bcds-contract\b/i,
  /\bclinical rules\s*(§|\(?v(ersion)?\s*\d)/i,
  /\b(rules|contract)\s*§\s*\d/i,
  // A bare section number ("§5") names a section of no document the reader can find; only a
  // standard's own sections (RFC 7519 §4.1.3) are fine.
  /(?<!\bRFC \d+ )§\s*\d/,
  /\barchitecture\.md\b/i,
  /\bissues?\s+#?\d+/i,
  /\/work\/shared\b|\.\.\/(shared\/)?(spec|reference)\//,
];

/** In a card even the project's own documents are internal. */
const IN_CARDS: readonly RegExp[] = [...OUTSIDE, /\bdocs\/[\w-]+\.md/, /§\s*\d/];

/** These files spell the patterns out, or give a bad card on purpose, to look for them. */
const SELF = new Set([
  "test/internal-documents.test.ts",
  "test/support/card-text.ts",
  "test/card-text.int.test.ts",
]);

const TEXT = /\.(ts|mjs|cjs|js|md|json|html|css)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : filesUnder(path);
    return TEXT.test(e.name) ? [path] : [];
  });
}

function namings(text: string, patterns: readonly RegExp[]): string[] {
  return text
    .split("\n")
    .filter((line) => patterns.some((re) => re.test(line)))
    .map((line) => line.trim());
}

describe("documents outside the repository", () => {
  it("the patterns find each way of naming one, and pass the docs/ form", () => {
    const named = [
      "see clinical-rules §7",
      "(clinical rules §5)",
      'cds-contract "Every card"',
      "issue 5 §4",
      "architecture.md",
      "/work/shared/reference/cds-hooks-2.0-examples/",
      "../shared/spec/clinical-rules.md",
      "clinical rules version 2",
      "/** §5 Refractory-LN eligibility (kang2020). */",
      "(safety §7, response §6)",
    ];
    for (const line of named) expect(namings(line, OUTSIDE), line).toEqual([line]);
    const fine = [
      "docs/clinical-rules.md#7-safety",
      "docs/cds-contract.md#cards",
      'import { cell } from "../shared/cards.js";',
      "the clinical rules read typed facts",
      "an audience array (RFC 7519 §4.1.3)",
    ];
    for (const line of fine) expect(namings(line, OUTSIDE), line).toEqual([]);
  });

  it("no file of src, cds-services, fixtures, test or bench names one", () => {
    const found = ["src", "cds-services", "fixtures", "test", "bench"]
      .flatMap(filesUnder)
      .filter((f) => !SELF.has(f))
      .flatMap((f) => namings(readFileSync(f, "utf8"), OUTSIDE).map((line) => `${f}: ${line}`));
    expect(found).toEqual([]);
  });

  it("no card of any demo patient names one, nor a project document, anywhere in the card", async () => {
    const now = new Date();
    const config = testConfig();
    const { app } = protocolApp({ services: defaultServices(config), clock: () => now });
    const discovery = await request(app).get("/cds-services").expect(200);
    const entries = (
      discovery.body as {
        services: { id: string; hook: string; prefetch?: Record<string, string> }[];
      }
    ).services;
    const found: string[] = [];
    let cards = 0;
    for (const bundle of allFixtureBundles(now)) {
      const resources: FhirResource[] = resourcesOf(bundle);
      const patientId = resources.find((r) => r.resourceType === "Patient")?.id;
      if (patientId === undefined) continue;
      for (const entry of entries) {
        const draft = draftIguratimodOrder(patientId);
        const order = entry.hook === "order-select" || entry.hook === "order-sign";
        const draftOrders: Bundle = {
          resourceType: "Bundle",
          type: "collection",
          entry: [{ resource: draft }],
        };
        const body = {
          hook: entry.hook,
          hookInstance: "7b0e3d8c-9a54-4a3e-8f6d-0c1b7c6a5e21",
          context: {
            userId: "Practitioner/internal-documents",
            patientId,
            ...(entry.hook === "order-select"
              ? { selections: [`MedicationRequest/${draft.id ?? ""}`] }
              : {}),
            ...(order ? { draftOrders } : {}),
          },
          prefetch: patientPrefetch(resources, Object.keys(entry.prefetch ?? {})),
        };
        const res = await request(app).post(`/cds-services/${entry.id}`).send(body);
        expect(res.status, `${entry.id} for ${patientId}: ${res.text}`).toBe(200);
        for (const card of (res.body as { cards: unknown[] }).cards) {
          cards += 1;
          for (const line of namings(JSON.stringify(card, null, 1), IN_CARDS))
            found.push(`${entry.id} for ${patientId}: ${line}`);
        }
      }
    }
    expect(cards).toBeGreaterThan(20);
    expect(found).toEqual([]);
  });
});
