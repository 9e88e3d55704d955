/**
 * Card detail is Markdown (CDS Hooks 2.0, GitHub Flavored Markdown) from a service the EHR does
 * not control, and it quotes FHIR text: it is parsed with marked and then sanitised with
 * DOMPurify before it reaches the page, so neither a `<script>` nor an event attribute survives.
 * Links open outside the page.
 */
import DOMPurify from "dompurify";
import { marked } from "marked";

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

export function markdownFragment(markdown: string): DocumentFragment {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ["style", "form", "input", "button", "iframe", "img"],
    FORBID_ATTR: ["style"],
  });
}
