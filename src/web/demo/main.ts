/**
 * The demo EHR page (`npm start` opens with it): a working CDS Hooks client of ln-cds. It lists
 * the demo patients, and for the chosen one calls every patient-view service found by discovery
 * (prefetch filled from the templates and read from the demo FHIR server), renders the cards,
 * sends feedback, shows the course app beside them, and offers an order screen whose drafts go
 * to the order-select and order-sign services.
 */
import { byId, clear, h, status } from "../shared/dom.js";
import { UCUM_SYSTEM } from "../../clinical/codes.js";
import {
  callService,
  discover,
  postFeedback,
  prefetchFor,
  type Card,
  type CardLink,
  type DiscoveredService,
  type HookContext,
} from "./cds-client.js";
import { cardView } from "./card-view.js";

interface DemoPatient {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}
interface DemoInfo {
  readonly fhirServer: string;
  readonly patients: readonly DemoPatient[];
  readonly userId: string;
}

const cdsBase = window.location.origin;
const statusEl = byId("demo-status");
let services: DiscoveredService[] = [];
let demo: DemoInfo | undefined;
let current: DemoPatient | undefined;
let generation = 0;

function appUrl(patientId: string, appContext?: string): string {
  const params = new URLSearchParams({ iss: demo?.fhirServer ?? "", patient: patientId });
  if (appContext) params.set("appContext", appContext);
  return `/app/?${params.toString()}`;
}

function logCall(text: string): void {
  const log = byId("call-log");
  log.prepend(h("li", {}, `${new Date().toISOString().slice(11, 19)} ${text}`));
  while (log.children.length > 12) log.lastElementChild?.remove();
}

function openSmartLink(link: CardLink): void {
  if (!current || !demo) return;
  // The demo FHIR server is open: the app runs in the library's open-server mode (iss + patient)
  // at the link's URL, with the card's appContext.
  const url = new URL(link.url, window.location.href);
  url.searchParams.set("iss", demo.fhirServer);
  url.searchParams.set("patient", current.id);
  if (link.appContext) url.searchParams.set("appContext", link.appContext);
  const frame = byId("course-app") as HTMLIFrameElement;
  frame.src = url.toString();
  frame.focus();
}

async function runHook(
  hook: "patient-view" | "order-select" | "order-sign",
  context: HookContext,
  target: HTMLElement,
): Promise<number> {
  if (!demo) return 0;
  const fhirServer = demo.fhirServer;
  const mine = ++generation;
  clear(target);
  target.setAttribute("aria-busy", "true");
  const cache = new Map<string, Promise<unknown>>();
  const chosen = services.filter((s) => s.hook === hook);
  let shown = 0;
  const results = await Promise.allSettled(
    chosen.map(async (service) => {
      const prefetch = await prefetchFor(service, fhirServer, context, cache);
      const started = performance.now();
      const cards = await callService(cdsBase, service, { fhirServer, context, prefetch });
      logCall(
        `${hook} → ${service.id}: ${String(cards.length)} card(s) in ${(performance.now() - started).toFixed(0)} ms`,
      );
      return { service, cards };
    }),
  );
  if (mine !== generation) return 0;
  target.removeAttribute("aria-busy");
  const order = { critical: 0, warning: 1, info: 2 } as const;
  const all: { service: DiscoveredService; card: Card }[] = [];
  for (const r of results) {
    if (r.status === "fulfilled")
      all.push(...r.value.cards.map((card) => ({ service: r.value.service, card })));
    else
      target.append(
        h("p", { class: "error" }, String(r.reason instanceof Error ? r.reason.message : r.reason)),
      );
  }
  all.sort((a, b) => order[a.card.indicator] - order[b.card.indicator]);
  for (const { service, card } of all) {
    target.append(
      cardView(card, service.id, {
        feedback: async (item) => {
          await postFeedback(cdsBase, service.id, item);
          logCall(`feedback → ${service.id}: ${item.outcome}`);
        },
        openSmartLink,
      }),
    );
    shown++;
  }
  if (shown === 0)
    target.append(h("p", { class: "empty" }, "No cards: the services have nothing to say."));
  return shown;
}

async function showBanner(p: DemoPatient): Promise<void> {
  const banner = byId("banner");
  clear(banner);
  banner.append(h("h2", { id: "banner-name" }, p.name), h("span", { class: "mrn" }, p.id));
  if (!demo) return;
  try {
    const res = await fetch(`${demo.fhirServer}/Patient/${encodeURIComponent(p.id)}`, {
      headers: { Accept: "application/fhir+json" },
    });
    if (!res.ok) return;
    const patient = (await res.json()) as { gender?: string; birthDate?: string };
    banner.append(
      h("span", {}, patient.gender ?? "gender unknown"),
      h("span", {}, patient.birthDate ? `born ${patient.birthDate}` : "birth date unknown"),
    );
  } catch {
    // the banner keeps the name and id
  }
  banner.append(h("span", { class: "description" }, p.description));
}

function selectScreen(which: "view" | "order"): void {
  byId("view-screen").hidden = which !== "view";
  byId("order-screen").hidden = which !== "order";
  byId("tab-view").setAttribute("aria-pressed", String(which === "view"));
  byId("tab-order").setAttribute("aria-pressed", String(which === "order"));
}

async function choosePatient(p: DemoPatient): Promise<void> {
  current = p;
  for (const li of byId("patient-list").querySelectorAll("button")) {
    li.setAttribute("aria-current", String(li.dataset.patient === p.id));
  }
  byId("chart").hidden = false;
  selectScreen("view");
  clear(byId("order-cards"));
  resetOrderLines();
  await showBanner(p);
  (byId("course-app") as HTMLIFrameElement).src = appUrl(p.id);
  status(statusEl, `Calling the patient-view services for ${p.name}…`);
  const context: HookContext = { userId: demo?.userId ?? "Practitioner/demo", patientId: p.id };
  const n = await runHook("patient-view", context, byId("cards"));
  status(statusEl, `${p.name}: ${String(n)} card(s).`);
}

// ---------------------------------------------------------------- order screen

let lineCount = 0;

function orderLine(dose = 25, perDay = 2): HTMLElement {
  const n = ++lineCount;
  const doseId = `dose-${String(n)}`;
  const freqId = `freq-${String(n)}`;
  const remove = h("button", { type: "button", class: "remove-line" }, `Remove line ${String(n)}`);
  const line = h(
    "fieldset",
    { class: "order-line", "data-line": n },
    h("legend", {}, `Iguratimod line ${String(n)}`),
    h("label", { for: doseId }, "Dose (mg)"),
    h("input", {
      id: doseId,
      name: "dose",
      type: "number",
      min: 0,
      step: 5,
      value: dose,
      required: true,
    }),
    h("label", { for: freqId }, "Times a day"),
    h(
      "select",
      { id: freqId, name: "perDay" },
      ...[1, 2, 3].map((f) => h("option", { value: f, selected: f === perDay }, String(f))),
    ),
    remove,
  );
  remove.addEventListener("click", () => {
    line.remove();
  });
  return line;
}

function resetOrderLines(): void {
  const lines = byId("order-lines");
  clear(lines);
  lines.append(orderLine());
}

function draftOrders(patientId: string): { bundle: unknown; ids: string[] } {
  const entries = [...byId("order-lines").querySelectorAll<HTMLFieldSetElement>(".order-line")].map(
    (line, i) => {
      const dose = Number(line.querySelector<HTMLInputElement>("input[name=dose]")?.value ?? "0");
      const perDay = Number(
        line.querySelector<HTMLSelectElement>("select[name=perDay]")?.value ?? "1",
      );
      const id = `demo-draft-${String(i + 1)}`;
      return {
        resource: {
          resourceType: "MedicationRequest",
          id,
          status: "draft",
          intent: "order",
          medicationCodeableConcept: { text: "iguratimod 25 mg tablet" },
          subject: { reference: `Patient/${patientId}` },
          authoredOn: new Date().toISOString(),
          dosageInstruction: [
            {
              text: `${String(dose)} mg ${String(perDay)} times a day`,
              timing: { repeat: { frequency: perDay, period: 1, periodUnit: "d" } },
              doseAndRate: [
                {
                  doseQuantity: {
                    value: dose,
                    unit: "mg",
                    system: UCUM_SYSTEM,
                    code: "mg",
                  },
                },
              ],
            },
          ],
        },
      };
    },
  );
  return {
    bundle: { resourceType: "Bundle", type: "collection", entry: entries },
    ids: entries.map((e) => `MedicationRequest/${e.resource.id}`),
  };
}

async function submitOrder(hook: "order-select" | "order-sign"): Promise<void> {
  if (!current) return;
  const { bundle, ids } = draftOrders(current.id);
  const context: HookContext = {
    userId: demo?.userId ?? "Practitioner/demo",
    patientId: current.id,
    draftOrders: bundle,
    ...(hook === "order-select" ? { selections: ids } : {}),
  };
  status(statusEl, `Calling the ${hook} services…`);
  const n = await runHook(hook, context, byId("order-cards"));
  status(statusEl, `${hook}: ${String(n)} card(s).`);
}

// ---------------------------------------------------------------- start

async function start(): Promise<void> {
  const [info, discovered] = await Promise.all([
    fetch("/demo/patients.json").then((r) => r.json() as Promise<DemoInfo>),
    discover(cdsBase),
  ]);
  demo = info;
  services = discovered;
  const list = byId("patient-list");
  for (const p of info.patients) {
    const button = h(
      "button",
      { type: "button", class: "patient", "data-patient": p.id },
      h("span", { class: "patient-name" }, p.name),
      h("span", { class: "patient-id" }, p.id),
      h("span", { class: "patient-description" }, p.description),
    );
    button.addEventListener("click", () => {
      void choosePatient(p);
    });
    list.append(h("li", {}, button));
  }
  byId("tab-view").addEventListener("click", () => {
    selectScreen("view");
  });
  byId("tab-order").addEventListener("click", () => {
    selectScreen("order");
  });
  byId("order-add").addEventListener("click", () => {
    byId("order-lines").append(orderLine());
  });
  (byId("order-form") as HTMLFormElement).addEventListener("submit", (event) => {
    event.preventDefault();
    const hook =
      (event.submitter as HTMLButtonElement | null)?.value === "order-sign"
        ? "order-sign"
        : "order-select";
    void submitOrder(hook);
  });
  const hooks = [...new Set(services.map((s) => s.hook))].join(", ");
  status(statusEl, `${String(services.length)} services discovered (${hooks}). Choose a patient.`);
  const wanted = new URLSearchParams(window.location.search).get("patient");
  const preset = info.patients.find((p) => p.id === wanted);
  if (preset) await choosePatient(preset);
}

start().catch((err: unknown) => {
  status(
    statusEl,
    `The demo could not start: ${err instanceof Error ? err.message : String(err)}`,
    "error",
  );
});
