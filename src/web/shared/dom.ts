/** A few DOM helpers for the pages: elements are built with text, never with HTML strings. */

type Attrs = Readonly<Record<string, string | number | boolean | undefined>>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: readonly Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" || typeof c === "number" ? text(c) : c);
  }
}

function text(value: string | number): Text {
  return document.createTextNode(String(value));
}

export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el;
}

export function clear(el: Element): void {
  el.replaceChildren();
}

/** Shows a message in a polite live region, so screen readers hear state changes. */
export function status(el: HTMLElement, message: string, kind: "info" | "error" = "info"): void {
  el.textContent = message;
  el.dataset.kind = kind;
}

export function formatDate(t: number | string): string {
  return new Date(t).toISOString().slice(0, 10);
}
