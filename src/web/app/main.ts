/**
 * The iguratimod course app, a SMART on FHIR app. An EHR launches it with SMART App Launch (EHR
 * launch: `iss` + `launch`); the demo FHIR server, which is open, runs it from
 * `/app/?iss=…&patient=…` (fhirclient's open-server mode: no authorization server). A card's
 * `appContext` names the finding to point at.
 */
import FHIR from "fhirclient";
import type { FhirResource } from "fhir/r4.js";
import { LAB_CODES, LOINC_SYSTEM, PREGNANCY_STATUS_LOINC } from "../../clinical/index.js";
import { byId, clear, formatDate, h, status } from "../shared/dom.js";
import { courseCharts } from "./charts.js";
import { courseView, type CourseView } from "./course.js";

const CONTEXT_KEY = "ln-cds-course-app-context";
const statusEl = byId("app-status");

function rememberLaunchParameters(): {
  patient?: string;
  iss?: string;
  launch?: string;
  appContext?: string;
} {
  const params = new URLSearchParams(window.location.search);
  const appContext = params.get("appContext");
  // A launch through an authorization server comes back as ?state=…: keep the card's context
  // for that return, in this tab only; a new launch without one forgets the last.
  if (appContext !== null) sessionStorage.setItem(CONTEXT_KEY, appContext);
  else if (!params.has("state")) sessionStorage.removeItem(CONTEXT_KEY);
  const get = (name: string): Record<string, string> => {
    const v = params.get(name);
    return v === null || v === "" ? {} : { [name]: v };
  };
  const stored = sessionStorage.getItem(CONTEXT_KEY);
  return {
    ...get("patient"),
    ...get("iss"),
    ...get("launch"),
    ...(stored !== null ? { appContext: stored } : {}),
  };
}

function focusOf(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw === "") return undefined;
  try {
    const parsed = JSON.parse(raw) as { finding?: unknown };
    return typeof parsed.finding === "string" ? parsed.finding : undefined;
  } catch {
    return raw;
  }
}

const LAB_QUERY = [...LAB_CODES.keys(), PREGNANCY_STATUS_LOINC]
  .map((c) => `${LOINC_SYSTEM}|${c}`)
  .join(",");

async function readChart(
  client: Awaited<ReturnType<typeof FHIR.oauth2.ready>>,
): Promise<FhirResource[]> {
  const pid = client.getPatientId();
  if (!pid) throw new Error("the launch gave no patient");
  const q = encodeURIComponent(pid);
  const search = (path: string) =>
    client
      .request<FhirResource[]>(path, { pageLimit: 0, flat: true })
      .then((r) => (Array.isArray(r) ? r : [r]));
  const [patient, labs, statements, requests, conditions] = await Promise.all([
    client.request<FhirResource>(`Patient/${q}`),
    search(`Observation?patient=${q}&code=${encodeURIComponent(LAB_QUERY)}&_count=1000`),
    search(`MedicationStatement?patient=${q}&_count=1000`),
    search(`MedicationRequest?patient=${q}&_count=1000`),
    search(`Condition?patient=${q}&_count=1000`),
  ]);
  return [patient, ...labs, ...statements, ...requests, ...conditions].filter(
    (r): r is FhirResource => typeof r === "object" && "resourceType" in r,
  );
}

function showVerdicts(view: CourseView, focus: string | undefined): void {
  const list = byId("verdict-list");
  clear(list);
  for (const v of view.verdicts) {
    list.append(
      h(
        "li",
        {
          class: `verdict verdict-${v.finding.indicator}${v.finding.code === focus ? " focus" : ""}`,
          "data-finding": v.finding.code,
        },
        h("span", { class: `badge badge-${v.finding.indicator}` }, v.finding.indicator),
        ` ${v.finding.summary} `,
        h("span", { class: "muted" }, `(${v.service}, decided ${formatDate(v.at)})`),
      ),
    );
  }
  if (view.verdicts.length === 0)
    list.append(h("li", {}, "No finding: nothing to say for this patient."));
  byId("verdicts").hidden = false;
}

function showExcluded(view: CourseView): void {
  const list = byId("excluded-list");
  clear(list);
  for (const n of view.excluded) list.append(h("li", {}, n.message, n.ref ? ` (${n.ref})` : ""));
  byId("excluded").hidden = view.excluded.length === 0;
}

async function start(): Promise<void> {
  const { patient, iss, launch, appContext } = rememberLaunchParameters();
  // An open FHIR server (the demo's) needs no authorization: the library's client is made for
  // it at once, without the authorize round trip through this page. An EHR launch (`launch`)
  // and the return from an authorization server (`state`) go through oauth2.init.
  const client =
    iss !== undefined && patient !== undefined && launch === undefined
      ? FHIR.client({ serverUrl: iss, tokenResponse: { patient } })
      : await FHIR.oauth2.init({
          clientId: "ln-cds-course-app",
          scope: "launch launch/patient patient/*.read openid fhirUser",
          ...(patient !== undefined ? { patientId: patient } : {}),
          completeInTarget: true,
        });
  const tokenContext = (client.state.tokenResponse as { appContext?: unknown } | undefined)
    ?.appContext;
  const focus = focusOf(tokenContext ?? appContext);
  performance.mark("ln-cds:launched");
  status(statusEl, "Reading the chart…");
  const resources = await readChart(client);
  performance.mark("ln-cds:read");
  const view = courseView(resources, client.getPatientId() ?? "", new Date());
  performance.mark("ln-cds:judged");
  const patientResource = resources.find((r) => r.resourceType === "Patient");
  const given = patientResource?.resourceType === "Patient" ? patientResource.name?.[0] : undefined;
  const name =
    given?.text ??
    ([...(given?.given ?? []), given?.family ?? ""].join(" ").trim() || view.facts.patientRef);
  byId("app-title").textContent = `Iguratimod course — ${name}`;
  showVerdicts(view, focus);
  const area = byId("chart-area");
  clear(area);
  area.append(...courseCharts(view, focus));
  performance.mark("ln-cds:charted");
  byId("charts").hidden = false;
  showExcluded(view);
  const ms = Math.round(performance.now());
  document.body.dataset.firstChartMs = String(ms);
  // Where the time went, in ms since this document started (read by scripts/screenshots.mjs).
  document.body.dataset.timings = JSON.stringify(
    Object.fromEntries(
      performance
        .getEntriesByType("mark")
        .filter((m) => m.name.startsWith("ln-cds:"))
        .map((m) => [m.name.slice(7), Math.round(m.startTime)]),
    ),
  );
  status(
    statusEl,
    `${String(resources.length)} resources, ${String(view.facts.labs.length)} lab values plotted` +
      (focus ? `; opened for ${focus}` : "") +
      `; first chart ${String(ms)} ms after the page started.`,
  );
}

start().catch((err: unknown) => {
  status(
    statusEl,
    `The course app could not load: ${err instanceof Error ? err.message : String(err)}`,
    "error",
  );
});
