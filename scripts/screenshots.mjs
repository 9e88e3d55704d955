#!/usr/bin/env node
/**
 * Screenshots of the three pages for the README, taken from a running demo, so they follow the
 * pages as they change. With `npm start` running in another terminal:
 *
 *   npm run screenshots -- http://127.0.0.1:8080 <operator token printed by npm start>
 *
 * Writes docs/screenshots/{demo,course-app,inbox}.png and prints the course app's time to first
 * chart for the heavy patient (scn-paginated-labs, four years of monthly labs), median of three
 * fresh loads, and the size of each page's bundle as served.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = (process.argv[2] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const token = process.argv[3] ?? process.env.OPERATOR_TOKEN;
const outDir = join(process.cwd(), "docs", "screenshots");
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});

async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

try {
  const info = await (await fetch(`${base}/demo/patients.json`)).json();
  const appUrl = (patient) =>
    `${base}/app/?${new URLSearchParams({ iss: info.fhirServer, patient }).toString()}`;

  // 1. The demo EHR page on patient 4: the cards and the course app beside them.
  let page = await freshPage();
  await page.goto(`${base}/?patient=kang-04`);
  await page.locator("article.card-critical").first().waitFor();
  await page.frameLocator("#course-app").locator('figure[data-chart="hemoglobin"]').waitFor();
  await page.screenshot({ path: join(outDir, "demo.png"), fullPage: false });
  await page.context().close();

  // 2. The course app alone on patient 1 (relapse), pointed at the relapse.
  page = await freshPage();
  await page.goto(
    `${appUrl("kang-01")}&appContext=${encodeURIComponent('{"finding":"renal-relapse"}')}`,
  );
  await page.locator('figure[data-chart="egfr"]').waitFor();
  await page.screenshot({ path: join(outDir, "course-app.png"), fullPage: true });
  await page.context().close();

  // 3. The inbox, signed in, after patient 4's patient-view raised its alerts.
  if (token) {
    page = await freshPage();
    await page.goto(`${base}/inbox/`);
    await page.locator("#token").fill(token);
    await page.locator("#signin button[type=submit]").click();
    await page.locator("tr[data-alert]").first().waitFor();
    await page.screenshot({ path: join(outDir, "inbox.png"), fullPage: false });
    await page.context().close();
  } else {
    process.stdout.write("no operator token given: inbox.png not taken\n");
  }

  // Time to first chart for the heavy patient: from navigation to the first chart drawn.
  const times = [];
  for (let i = 0; i < 3; i++) {
    page = await freshPage();
    const started = Date.now();
    await page.goto(appUrl("scn-paginated-labs"));
    await page.locator("figure.course-chart").first().waitFor();
    times.push(Date.now() - started);
    const marks = await page.locator("body[data-timings]").getAttribute("data-timings");
    process.stdout.write(
      `  load ${i + 1}: ${Date.now() - started} ms; in the app document: ${marks}\n`,
    );
    const labs = await page.locator('figure[data-chart="protein"] circle').count();
    if (i === 0) process.stdout.write(`heavy patient: ${labs} proteinuria points plotted\n`);
    await page.context().close();
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `time to first chart (scn-paginated-labs): median ${times[1]} ms (${times.join(", ")})\n`,
  );

  for (const path of ["/demo.js", "/app/app.js", "/inbox/inbox.js"]) {
    const body = await (await fetch(`${base}${path}`)).arrayBuffer();
    process.stdout.write(`bundle ${path}: ${(body.byteLength / 1024).toFixed(0)} KiB\n`);
  }
  process.stdout.write(`screenshots in ${outDir}\n`);
} finally {
  await browser.close();
}
