/**
 * Serves the pages built by src/pages/build.ts: the course app (/app/) and the safety-team inbox
 * (/inbox/) always, the demo EHR page (/) and its patient list only in the demo.
 *
 * Each page gets its own Content-Security-Policy, replacing the API's `default-src 'none'`:
 * scripts and styles from this origin only (no inline script, no CDN), data: images (the charts'
 * legend swatches), fetches to this origin and to the FHIR servers the service is allowed to call
 * (the course app reads the patient's chart there), frames of this origin only (the demo page
 * shows the course app beside the cards). Nothing else loads, and only this origin may frame a page.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Response, type Router } from "express";

export interface DemoPatient {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

export interface DemoInfo {
  /** The demo FHIR server's base URL, e.g. http://127.0.0.1:8090/fhir */
  readonly fhirServer: string;
  readonly patients: readonly DemoPatient[];
  /** Practitioner the demo EHR page acts as (`context.userId`). */
  readonly userId: string;
}

export interface PagesDeps {
  /** The built pages (dist/web). */
  readonly webRoot: string;
  /** Origins the pages may fetch from besides their own: the allow-listed FHIR servers. */
  readonly connectOrigins: readonly string[];
  /** Present in the demo only: the EHR page at / and its patient list. */
  readonly demo?: DemoInfo;
}

export function pageCsp(connectOrigins: readonly string[]): string {
  const connect = ["'self'", ...connectOrigins].join(" ");
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "frame-src 'self'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

export class PagesNotBuiltError extends Error {
  override name = "PagesNotBuiltError";
}

export function pagesRouter(deps: PagesDeps): Router {
  if (!existsSync(join(deps.webRoot, "app", "index.html"))) {
    throw new PagesNotBuiltError(`the pages are not built in ${deps.webRoot} (npm run build)`);
  }
  const csp = pageCsp(deps.connectOrigins);
  const pageHeaders = (res: Response): void => {
    res.setHeader("Content-Security-Policy", csp);
    res.setHeader("X-Frame-Options", "SAMEORIGIN");
    res.setHeader("Cache-Control", "no-store");
  };
  const router = express.Router();
  const sendPage = (file: string) => (_req: express.Request, res: Response) => {
    pageHeaders(res);
    res.sendFile(join(deps.webRoot, file));
  };
  router.get("/app/", sendPage("app/index.html"));
  router.get("/inbox/", sendPage("inbox/index.html"));
  router.get(["/app", "/inbox"], (req, res) => {
    res.redirect(301, `${req.path}/`);
  });
  if (deps.demo) {
    const demo = deps.demo;
    router.get("/", sendPage("index.html"));
    router.get("/demo/patients.json", (_req, res) => {
      res.setHeader("Cache-Control", "no-store");
      res.json(demo);
    });
  }
  // Bundles, their source maps and the stylesheet; never an index, never a dotfile, and a page
  // only through its route above (with its headers).
  router.use((req, _res, next) => {
    next(req.path.endsWith(".html") ? "router" : undefined);
  });
  router.use(
    express.static(deps.webRoot, {
      index: false,
      dotfiles: "ignore",
      redirect: false,
    }),
  );
  return router;
}
