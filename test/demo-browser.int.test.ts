/**
 * The demo as a browser client meets it (docs/cds-contract.md#real-clients): `npm start`'s
 * servers, started by the real CLI entry with no configuration, called from a page on another
 * origin. First the CORS preflight itself (accepted and logged), then a page in headless Chromium
 * that does what the CDS Hooks Sandbox does and shows patient 4's critical anaemia card.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Patient } from "fhir/r4.js";
import { allFixtureBundles, resourcesOf } from "../fixtures/index.js";
import { startDemoProcess, type DemoProcess } from "./support/demo-process.js";

const PAGE = readFileSync(new URL("./support/sandbox-like-page.html", import.meta.url), "utf8");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

let demo: DemoProcess;
let page: { server: Server; origin: string };

beforeAll(async () => {
  demo = await startDemoProcess();
  // The page's own origin: another port than the service's and the FHIR server's.
  const server = createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  page = { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) =>
    page.server.close(() => {
      resolve();
    }),
  );
  await demo.stop();
});

/** The request lines of the demo's access log. */
function requestLog(): Record<string, unknown>[] {
  return demo.logRecords().filter((r) => r.msg === "request");
}

describe("the demo (npm start) and browser pages of other origins", () => {
  it("answers a CORS preflight from another origin and logs it", async () => {
    for (const method of ["GET", "POST"]) {
      const res = await fetch(`${demo.url}/cds-services/iguratimod-safety`, {
        method: "OPTIONS",
        headers: {
          Origin: page.origin,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers": "authorization,content-type,accept",
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-methods")).toContain(method);
      expect(res.headers.get("access-control-allow-headers")).toMatch(
        /Authorization.*Content-Type.*Accept/,
      );
    }
    await expect.poll(() => requestLog().filter((r) => r.method === "OPTIONS").length).toBe(2);
    expect(requestLog().filter((r) => r.method === "OPTIONS")).toEqual([
      expect.objectContaining({ status: 204, preflight: true, origin: page.origin }),
      expect.objectContaining({ status: 204, preflight: true, origin: page.origin }),
    ]);
  });

  it("answers the demo FHIR server's preflight from another origin too", async () => {
    const res = await fetch(`${demo.fhirUrl}/Observation/_search`, {
      method: "OPTIONS",
      headers: { Origin: page.origin, "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("a sandbox-like page in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser.close();
  });

  it("shows patient 4 by name and the critical anaemia card, every service answering", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const consoleErrors: string[] = [];
    const failed: string[] = [];
    const searches: string[] = [];
    tab.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    tab.on("requestfailed", (r) => failed.push(`${r.method()} ${r.url()}`));
    tab.on("request", (r) => {
      if (r.method() === "POST" && r.url().includes("/_search")) searches.push(r.url());
    });
    try {
      const query = new URLSearchParams({ cds: demo.url, fhir: demo.fhirUrl, patient: "kang-04" });
      await tab.goto(`${page.origin}/?${query.toString()}`);
      await tab.waitForSelector('body[data-done="true"]', { timeout: 60_000 });

      expect(await tab.locator("#error").textContent()).toBe("");
      expect(failed).toEqual([]);
      expect(consoleErrors).toEqual([]);

      // The banner: the fixture patient's name, read from the FHIR server by the browser.
      const patient = allFixtureBundles(new Date())
        .flatMap(resourcesOf)
        .find((r): r is Patient => r.resourceType === "Patient" && r.id === "kang-04");
      const name = patient?.name?.[0];
      expect(name?.family).toBeTruthy();
      expect(await tab.locator("#patient-name").textContent()).toBe(
        `${(name?.given ?? []).join(" ")} ${name?.family ?? ""}`,
      );

      // One call per patient-view service listed by discovery, each answered 200.
      const discovery = (await (await fetch(`${demo.url}/cds-services`)).json()) as {
        services: { id: string; hook: string }[];
      };
      const patientView = discovery.services.filter((s) => s.hook === "patient-view");
      expect(patientView.length).toBeGreaterThan(0);
      const items = tab.locator("#services li");
      expect(await items.count()).toBe(patientView.length);
      for (const service of patientView) {
        await expect
          .poll(() => tab.locator(`li[data-service="${service.id}"]`).getAttribute("data-status"))
          .toBe("200");
      }
      // Prefetch came from the FHIR server by POST _search, as the sandbox fills it.
      expect(searches.length).toBeGreaterThan(0);
      expect(searches.every((u) => u.startsWith(demo.fhirUrl))).toBe(true);

      // The critical anaemia card (Hb 32 g/L at week 12), rendered on the page.
      const critical = tab.locator('article.card[data-indicator="critical"]', {
        hasText: "Anaemia",
      });
      await critical.first().waitFor();
      expect(await critical.count()).toBe(1);
      const summary = await critical.locator(".summary").textContent();
      expect(summary).toMatch(/^Anaemia on iguratimod: Hb 32 g\/L\b/);
      expect(summary).toContain("CTCAE grade 3");
      expect(await critical.getAttribute("data-service")).toBe("iguratimod-safety");

      // The browser's preflights reached the service's access log, from the page's origin.
      expect(
        requestLog().some(
          (r) => r.method === "OPTIONS" && r.status === 204 && r.origin === page.origin,
        ),
      ).toBe(true);
    } finally {
      await context.close();
    }
  });
});
