/**
 * The safety-team inbox: the alerts of `GET /alerts` newest first, with their delivery state per
 * webhook and their acknowledgements, filtered by status and rule; each opens in the course app,
 * and a team member acknowledges one with their name and a comment.
 *
 * The operator token lives in this tab's sessionStorage only (gone when the tab closes), is sent
 * only in the Authorization header, and never appears in a URL.
 */
import type { AlertListing, AlertQuantity, ListedAlert } from "../../alerts/wire.js";
import { byId, clear, formatDate, h, status } from "../shared/dom.js";

// The shapes of GET /alerts come from the service's schemas (src/alerts/wire.ts); types only,
// so no zod code lands in this bundle.
type Alert = ListedAlert;

const TOKEN_KEY = "ln-cds-operator-token";
const statusEl = byId("inbox-status");
let alerts: Alert[] = [];
let fhirServer: string | undefined;

function token(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

async function api(
  path: string,
  init: { method?: string; body?: string; json?: boolean } = {},
): Promise<Response> {
  const t = token();
  const res = await fetch(path, {
    ...(init.method ? { method: init.method } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: {
      Accept: "application/json",
      ...(t ? { Authorization: `Bearer ${t}` } : {}),
      ...(init.json ? { "Content-Type": "application/json" } : {}),
    },
  });
  if (res.status === 401 || res.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignedIn(false);
    throw new Error(
      res.status === 401
        ? "the operator token is wrong"
        : "the operator API is disabled on this service",
    );
  }
  return res;
}

async function loadAlerts(): Promise<void> {
  const all: Alert[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `?limit=500&cursor=${encodeURIComponent(cursor)}` : "?limit=500";
    const res = await api(`/alerts${q}`);
    if (!res.ok) throw new Error(`GET /alerts: HTTP ${String(res.status)}`);
    const page = (await res.json()) as AlertListing;
    all.push(...page.alerts);
    cursor = page.next;
  } while (cursor);
  alerts = all.sort((a, b) =>
    a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0,
  );
  fillFilter(
    "filter-status",
    alerts.map((a) => a.status),
  );
  fillFilter(
    "filter-rule",
    alerts.map((a) => a.rule),
  );
  render();
}

function fillFilter(id: string, values: readonly string[]): void {
  const select = byId(id) as HTMLSelectElement;
  const keep = select.value;
  clear(select);
  select.append(h("option", { value: "" }, "any"));
  for (const v of [...new Set(values)].sort())
    select.append(h("option", { value: v, selected: v === keep }, v));
}

function qty(q: AlertQuantity | undefined): string {
  return q ? `${String(q.value)} ${q.unit}` : "—";
}

function appLink(a: Alert): HTMLElement | string {
  const id = a.patient.replace(/^Patient\//, "");
  if (!fhirServer) return a.patient;
  const params = new URLSearchParams({
    iss: fhirServer,
    patient: id,
    appContext: JSON.stringify({ finding: a.rule, alert: a.id }),
  });
  return h(
    "a",
    { href: `/app/?${params.toString()}`, target: "_blank", rel: "noopener" },
    a.patient,
  );
}

function ackCell(a: Alert): HTMLElement {
  const cell = h("td", {});
  const acks = a.acknowledgements;
  if (acks.length > 0) {
    cell.append(
      h(
        "ul",
        { class: "ack-list" },
        ...acks.map((k) =>
          h(
            "li",
            {},
            `${k.by}, ${k.at.slice(0, 16).replace("T", " ")}`,
            k.comment ? `: ${k.comment}` : "",
          ),
        ),
      ),
    );
  }
  const nameId = `ack-by-${a.id}`;
  const commentId = `ack-comment-${a.id}`;
  const form = h(
    "form",
    { class: "ack-form", "data-alert": a.id },
    h("label", { for: nameId }, "Name"),
    h("input", {
      id: nameId,
      name: "by",
      type: "text",
      required: true,
      maxlength: 100,
      autocomplete: "name",
    }),
    h("label", { for: commentId }, "Comment"),
    h("input", {
      id: commentId,
      name: "comment",
      type: "text",
      maxlength: 1000,
      autocomplete: "off",
    }),
    h("button", { type: "submit" }, "Acknowledge"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const field = (name: string): string =>
      form.querySelector<HTMLInputElement>(`input[name=${name}]`)?.value ?? "";
    void acknowledge(a.id, field("by"), field("comment"));
  });
  cell.append(form);
  return cell;
}

async function acknowledge(id: string, by: string, comment: string): Promise<void> {
  try {
    const res = await api(`/alerts/${encodeURIComponent(id)}/acknowledgements`, {
      method: "POST",
      json: true,
      body: JSON.stringify({ by, ...(comment.trim() ? { comment } : {}) }),
    });
    if (res.status !== 201) throw new Error(`HTTP ${String(res.status)}`);
    status(statusEl, `Alert acknowledged by ${by}.`);
    await loadAlerts();
  } catch (err) {
    status(
      statusEl,
      `Acknowledgement failed: ${err instanceof Error ? err.message : String(err)}`,
      "error",
    );
  }
}

function render(): void {
  const wantStatus = (byId("filter-status") as HTMLSelectElement).value;
  const wantRule = (byId("filter-rule") as HTMLSelectElement).value;
  const rows = byId("alert-rows");
  clear(rows);
  const shown = alerts.filter(
    (a) =>
      (wantStatus === "" || a.status === wantStatus) && (wantRule === "" || a.rule === wantRule),
  );
  for (const a of shown) {
    rows.append(
      h(
        "tr",
        { "data-alert": a.id, "data-patient": a.patient },
        h("td", {}, formatDate(a.recordedAt)),
        h("td", {}, appLink(a)),
        h("td", {}, a.rule),
        h("td", {}, h("span", { class: `badge badge-${a.severity}` }, a.severity)),
        h("td", {}, a.grade),
        h(
          "td",
          {},
          qty(a.value),
          h("br"),
          h("span", { class: "muted" }, formatDate(a.effective)),
          a.latest && a.latest.effective !== a.effective
            ? h(
                "span",
                { class: "muted latest" },
                ` · latest ${qty(a.latest)} (${formatDate(a.latest.effective)})`,
              )
            : null,
        ),
        h("td", {}, qty(a.baseline)),
        h("td", {}, a.status),
        h(
          "td",
          {},
          a.deliveries.length === 0
            ? "no webhook"
            : h(
                "ul",
                { class: "ack-list" },
                ...a.deliveries.map((d) =>
                  h("li", {}, `${d.webhook}: ${d.status} (${String(d.attempts)})`),
                ),
              ),
        ),
        ackCell(a),
      ),
    );
  }
  status(statusEl, `${String(shown.length)} of ${String(alerts.length)} alert(s) shown.`);
}

function showSignedIn(on: boolean): void {
  byId("signin").hidden = on;
  byId("inbox").hidden = !on;
}

async function start(): Promise<void> {
  // Only the demo knows its FHIR server; elsewhere the patient is shown without a link.
  const demo = await fetch("/demo/patients.json").then(
    (r) => (r.ok ? (r.json() as Promise<{ fhirServer?: string }>) : undefined),
    () => undefined,
  );
  fhirServer = demo?.fhirServer;
  const form = byId("signin") as HTMLFormElement;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId("token") as HTMLInputElement;
    sessionStorage.setItem(TOKEN_KEY, input.value);
    input.value = "";
    showSignedIn(true);
    loadAlerts().catch((err: unknown) => {
      status(
        statusEl,
        `Could not read the alerts: ${err instanceof Error ? err.message : String(err)}`,
        "error",
      );
    });
  });
  byId("filter-status").addEventListener("change", render);
  byId("filter-rule").addEventListener("change", render);
  byId("refresh").addEventListener("click", () => {
    loadAlerts().catch((err: unknown) => {
      status(
        statusEl,
        `Could not read the alerts: ${err instanceof Error ? err.message : String(err)}`,
        "error",
      );
    });
  });
  byId("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    alerts = [];
    clear(byId("alert-rows"));
    showSignedIn(false);
    status(statusEl, "Signed out.");
  });
  if (token()) {
    showSignedIn(true);
    await loadAlerts();
  }
}

start().catch((err: unknown) => {
  status(
    statusEl,
    `The inbox could not start: ${err instanceof Error ? err.message : String(err)}`,
    "error",
  );
});
