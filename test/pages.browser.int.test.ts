/**
 * The three pages in Debian's Chromium (playwright-core), against the demo wiring over real HTTP:
 * the demo FHIR server, ln-cds with SQLite, and the pages built by esbuild for this run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPages } from "../src/pages/build.js";
import {
  launchChromium,
  OPERATOR_TOKEN,
  startPagesDemo,
  type PagesDemo,
} from "./support/pages-demo.js";

let webRoot: string;
let demo: PagesDemo;
let browser: Browser;

beforeAll(async () => {
  webRoot = (await buildPages({ outDir: mkdtempSync(join(tmpdir(), "ln-cds-web-")) })).outDir;
  demo = await startPagesDemo({ webRoot });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser.close();
  await demo.close();
});

async function newPage(): Promise<Page> {
  // A context per page (axe needs one it can open frames in).
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return page;
}

function appUrl(patient: string): string {
  return `${demo.url}/app/?${new URLSearchParams({ iss: demo.fhir.url, patient }).toString()}`;
}

/** Violations axe rates serious or critical, as "rule: target" lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}

async function choose(page: Page, patientId: string): Promise<void> {
  await page.goto(`${demo.url}/`);
  await page.locator(`button[data-patient="${patientId}"]`).click();
}

describe("demo EHR page", () => {
  it("shows patient 4's critical anaemia card and, beside it, the course app with the Hb fall to 32 g/L", async () => {
    const page = await newPage();
    const origins = new Set<string>();
    page.on("request", (r) => origins.add(new URL(r.url()).origin));
    await choose(page, "kang-04");
    const card = page.locator('article.card-critical[data-finding="anemia"]');
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.locator(".card-summary").textContent()).toContain("Hb 32 g/L");
    // The detail is Markdown rendered as HTML: the deciding values are a table.
    const cells = await card.locator(".card-detail table td").allTextContents();
    expect(cells.some((c) => /(^|\s)32(\s|$)/.test(c))).toBe(true);

    const app = page.frameLocator("#course-app");
    await expect
      .poll(() => app.locator('li[data-finding="anemia"]').textContent())
      .toContain("Hb 32 g/L");
    const hb = app.locator('figure[data-chart="hemoglobin"]');
    // The last point of the Hb chart is the week-12 value: its tip names value, unit and source.
    await hb.locator("circle").last().hover();
    const tip = hb.locator('[aria-label="tip"], [data-mark="tip"]');
    await expect.poll(() => tip.textContent()).toContain("32");
    expect(await tip.textContent()).toContain("Observation/kang-04-hb-w12");
    // The card's SMART link opens the course app on its finding (appContext).
    const link = card.locator("button.link-button");
    expect(await link.textContent()).toContain("course");
    await link.click();
    await expect.poll(() => app.locator('li.focus[data-finding="anemia"]').count()).toBe(1);
    // Offline: nothing was loaded from anywhere but ln-cds and the demo FHIR server.
    expect([...origins].sort()).toEqual(
      [new URL(demo.url).origin, new URL(demo.fhir.url).origin].sort(),
    );
    await page.context().close();
  });

  it("shows a suggestion's FHIR action and stores accepted, then overridden, feedback", async () => {
    const page = await newPage();
    await choose(page, "scn-critical-anemia-active-order");
    const card = page.locator('article.card-critical[data-finding="anemia"]');
    await expect.poll(() => card.count()).toBe(1);
    const suggestion = card.locator("button.suggestion").first();
    const label = (await suggestion.textContent()) ?? "";
    await suggestion.click();
    expect(await card.locator("pre.card-action").textContent()).toMatch(
      /"resourceType": "(MedicationRequest|ServiceRequest)"/,
    );
    await expect.poll(() => card.locator(".card-result").textContent()).toContain("Accepted");
    const accepted = await demo.store.db
      .selectFrom("feedback")
      .selectAll()
      .where("outcome", "=", "accepted")
      .execute();
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.service_id).toBe("iguratimod-safety");
    expect(JSON.parse(accepted[0]?.accepted_suggestions ?? "[]")).toHaveLength(1);
    expect(label).not.toBe("");

    await card.locator("select[name=reason]").selectOption({ index: 1 });
    await card.locator("input[name=comment]").fill("seen in clinic today");
    await card.locator("button.dismiss").click();
    await expect.poll(() => card.locator(".card-result").textContent()).toContain("Dismissed");
    const overridden = await demo.store.db
      .selectFrom("feedback")
      .selectAll()
      .where("outcome", "=", "overridden")
      .execute();
    expect(overridden).toHaveLength(1);
    // The reason chosen (the card's first override reason) and the comment, as sent.
    expect(JSON.parse(overridden[0]?.override_reason ?? "{}")).toMatchObject({
      system: "urn:ln-cds:override",
      code: "already-addressed",
    });
    expect(overridden[0]?.user_comment).toBe("seen in clinic today");
    await page.context().close();
  });

  it("order screen: a two-line iguratimod draft for scn-warfarin-active gets the warfarin card on sign and on select", async () => {
    const page = await newPage();
    await choose(page, "scn-warfarin-active");
    await page.locator("#tab-order").click();
    await page.locator("#order-add").click();
    await page.locator('.order-line[data-line] input[name="dose"]').last().fill("50");
    await page.locator("#order-sign").click();
    const warfarin = page.locator('#order-cards article[data-finding="warfarin-interaction"]');
    await expect.poll(() => warfarin.count()).toBe(1);
    expect(await warfarin.getAttribute("class")).toContain("card-critical");
    // The 50 mg twice-daily line is over the label's daily maximum.
    await expect
      .poll(() => page.locator('#order-cards article[data-finding="dose-check"]').count())
      .toBeGreaterThan(0);
    const signService = await warfarin.getAttribute("data-service");

    await page.locator("#order-select").click();
    await expect
      .poll(async () => {
        const w = page.locator('#order-cards article[data-finding="warfarin-interaction"]');
        return (await w.count()) === 1 ? w.getAttribute("data-service") : null;
      })
      .not.toBeNull();
    const selectService = await page
      .locator('#order-cards article[data-finding="warfarin-interaction"]')
      .getAttribute("data-service");
    // Both found by discovery, one per hook.
    const discovery = (await (await fetch(`${demo.url}/cds-services`)).json()) as {
      services: { id: string; hook: string }[];
    };
    expect(discovery.services).toContainEqual(
      expect.objectContaining({ id: signService, hook: "order-sign" }),
    );
    expect(discovery.services).toContainEqual(
      expect.objectContaining({ id: selectService, hook: "order-select" }),
    );
    await page.context().close();
  });
});

describe("course app", () => {
  it("shows patient 1's renal relapse, with the proteinuria chart and the week-24 window", async () => {
    const page = await newPage();
    await page.goto(appUrl("kang-01"));
    const relapse = page.locator('li[data-finding="renal-relapse"]');
    await expect.poll(() => relapse.count()).toBe(1);
    expect(await relapse.textContent()).toContain("relapse");
    expect(await page.locator('figure[data-chart="protein"] circle').count()).toBeGreaterThan(10);
    // On an open server the library's client is made at once: no authorize round trip.
    expect(new URL(page.url()).searchParams.get("state")).toBeNull();
    await page.context().close();
  });

  it("runs an EHR launch (iss + launch) through SMART discovery on the FHIR server", async () => {
    const page = await newPage();
    const asked: string[] = [];
    page.on("request", (r) => asked.push(r.url()));
    const params = new URLSearchParams({ iss: demo.fhir.url, launch: "launch-token-from-the-ehr" });
    await page.goto(`${demo.url}/app/?${params.toString()}`);
    // The demo server has no authorization server: the launch ends without a patient, and says so.
    await expect
      .poll(() => page.locator("#app-status").textContent())
      .toContain("the launch gave no patient");
    expect(asked).toContain(`${demo.fhir.url}/.well-known/smart-configuration`);
    await page.context().close();
  });
});

describe("safety-team inbox", () => {
  it("lists patient 4's alerts after the demo ran, and an acknowledgement survives a restart", async () => {
    const page = await newPage();
    // Patient 4's patient-view raises the alerts (as the first test does).
    await choose(page, "kang-04");
    await expect.poll(() => page.locator('article[data-finding="anemia"]').count()).toBe(1);

    await page.goto(`${demo.url}/inbox/`);
    await page.locator("#token").fill(OPERATOR_TOKEN);
    await page.locator("#signin button[type=submit]").click();
    const rows = page.locator('tr[data-patient="Patient/kang-04"]');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    expect(await rows.first().textContent()).toContain("anemia");
    // The token is never in the URL nor in localStorage.
    expect(page.url()).not.toContain(OPERATOR_TOKEN);
    expect(await page.evaluate("Object.keys(localStorage).length")).toBe(0);

    const alertId = await rows.first().getAttribute("data-alert");
    const row = page.locator(`tr[data-alert="${alertId ?? ""}"]`);
    await row.locator("input[name=by]").fill("Dr Test");
    await row.locator("input[name=comment]").fill("patient called");
    await row.locator("button[type=submit]").click();
    await expect.poll(() => row.locator(".ack-list").textContent()).toContain("Dr Test");

    await demo.restart();
    // Same tab, same origin: still signed in for this session (sessionStorage), not beyond it.
    await page.goto(`${demo.url}/inbox/`);
    const again = page.locator(`tr[data-alert="${alertId ?? ""}"] .ack-list`);
    await expect.poll(() => again.textContent()).toContain("Dr Test");
    expect(await again.textContent()).toContain("patient called");
    const audit = await demo.store.db.selectFrom("audit_event").selectAll().execute();
    expect(audit.map((a) => a.actor)).toEqual(["Dr Test"]);
    await page.context().close();
  });
});

describe("accessibility (axe-core)", () => {
  it("finds no serious or critical violation on the demo page, the course app and the inbox", async () => {
    const page = await newPage();
    await choose(page, "kang-04");
    await expect.poll(() => page.locator("article.card").count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.frameLocator("#course-app").locator("figure.course-chart").count())
      .toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(appUrl("kang-01"));
    await expect.poll(() => page.locator("figure.course-chart").count()).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${demo.url}/inbox/`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.locator("#token").fill(OPERATOR_TOKEN);
    await page.locator("#signin button[type=submit]").click();
    await expect.poll(() => page.locator("tr[data-alert]").count()).toBeGreaterThan(0);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });
});

describe("security of the pages", () => {
  it("serves each page with a strict CSP: no inline script, no origin but its own and the FHIR server", async () => {
    for (const path of ["/", "/app/", "/inbox/"]) {
      const res = await fetch(`${demo.url}${path}`);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      const origins = csp.match(/https?:\/\/[^\s;]+/g) ?? [];
      expect(origins).toEqual([new URL(demo.fhir.url).origin]);
      expect(csp).toContain("frame-ancestors 'self'");
    }
  });

  it("renders a FHIR text holding <img onerror> and <script> as inert text (sanitised Markdown)", async () => {
    const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    // A hemoglobin result of patient 4 whose unit and code text carry the payload: the service
    // quotes the unit in the card's data-quality notes (Markdown), the app lists it as not plotted.
    await demo.fhir.addResource({
      resourceType: "Observation",
      id: "kang-04-hb-xss",
      status: "final",
      code: {
        coding: [{ system: "http://loinc.org", code: "718-7", display: payload }],
        text: payload,
      },
      subject: { reference: "Patient/kang-04" },
      effectiveDateTime: new Date(Date.now() - 3 * 86_400_000).toISOString(),
      valueQuantity: {
        value: 90,
        unit: payload,
        system: "http://unitsofmeasure.org",
        code: payload,
      },
    } as never);
    const page = await newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await choose(page, "kang-04");
    const detail = page.locator('article[data-finding="anemia"] .card-detail');
    await expect.poll(() => detail.textContent()).toContain("cannot be converted");
    expect(await detail.locator("img, script, [onerror]").count()).toBe(0);

    const app = page.frameLocator("#course-app");
    const excluded = app.locator("#excluded-list");
    await expect.poll(() => excluded.textContent()).toContain("<img src=x onerror=");
    expect(await app.locator("#excluded-list img, #excluded-list script").count()).toBe(0);

    expect(await page.evaluate("window.__xss")).toBeUndefined();
    const frame = page.frames().find((f) => f.url().includes("/app/"));
    expect(await frame?.evaluate("window.__xss")).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.context().close();
  });
});
