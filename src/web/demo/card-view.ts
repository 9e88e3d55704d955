/**
 * Renders a CDS Hooks card as an EHR does: indicator colour, summary, sanitised Markdown detail,
 * source, links, suggestions and override reasons. A suggestion shows the FHIR action it carries
 * and posts `accepted` feedback; dismissing with a reason posts `overridden` feedback (CDS Hooks
 * 2.0 "Feedback").
 */
import { h } from "../shared/dom.js";
import { markdownFragment } from "../shared/markdown.js";
import type { Card, CardLink, FeedbackItem, Suggestion } from "./cds-client.js";

export interface CardActions {
  feedback(item: FeedbackItem): Promise<void>;
  openSmartLink(link: CardLink): void;
}

const INDICATOR_LABEL = { info: "Info", warning: "Warning", critical: "Critical" } as const;

function actionText(s: Suggestion): string {
  return JSON.stringify(s.actions ?? [], null, 2);
}

export function cardView(card: Card, serviceId: string, actions: CardActions): HTMLElement {
  const result = h("div", { class: "card-result", role: "status", "aria-live": "polite" });
  const say = (text: string): void => {
    result.textContent = text;
  };
  const body = h("article", {
    class: `card card-${card.indicator}`,
    "data-service": serviceId,
    "data-finding": card.source.topic?.code,
    "aria-label": `${INDICATOR_LABEL[card.indicator]}: ${card.summary}`,
  });
  body.append(
    h(
      "header",
      { class: "card-head" },
      h("span", { class: `badge badge-${card.indicator}` }, INDICATOR_LABEL[card.indicator]),
      h("h3", { class: "card-summary" }, card.summary),
    ),
  );
  if (card.detail) {
    const detail = h("div", { class: "card-detail" });
    detail.append(markdownFragment(card.detail));
    body.append(detail);
  }
  const source = card.source.url
    ? h(
        "a",
        { href: card.source.url, target: "_blank", rel: "noopener noreferrer" },
        card.source.label,
      )
    : card.source.label;
  body.append(
    h(
      "p",
      { class: "card-source" },
      "Source: ",
      source,
      card.source.topic?.display ? ` · ${card.source.topic.display}` : "",
    ),
  );
  if (card.links && card.links.length > 0) {
    const list = h("ul", { class: "card-links" });
    for (const link of card.links) {
      if (link.type === "smart") {
        const button = h("button", { type: "button", class: "link-button" }, link.label);
        button.addEventListener("click", () => {
          actions.openSmartLink(link);
        });
        list.append(h("li", {}, button));
      } else {
        list.append(
          h(
            "li",
            {},
            h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, link.label),
          ),
        );
      }
    }
    body.append(list);
  }
  const uuid = card.uuid;
  if (card.suggestions && card.suggestions.length > 0) {
    const row = h("div", { class: "card-suggestions" });
    for (const s of card.suggestions) {
      const button = h(
        "button",
        { type: "button", class: s.isRecommended ? "suggestion recommended" : "suggestion" },
        s.label,
      );
      button.addEventListener("click", () => {
        const shown = h(
          "pre",
          { class: "card-action", "aria-label": `Action of ${s.label}`, tabindex: 0 },
          actionText(s),
        );
        body.querySelector(".card-action")?.remove();
        body.insertBefore(shown, result);
        if (!uuid || !s.uuid) {
          say("Action shown; this card has no uuid, so no feedback is sent.");
          return;
        }
        actions
          .feedback({
            card: uuid,
            outcome: "accepted",
            acceptedSuggestions: [{ id: s.uuid }],
            outcomeTimestamp: new Date().toISOString(),
          })
          .then(
            () => {
              say(`Accepted: feedback sent for "${s.label}".`);
            },
            (err: unknown) => {
              say(`Feedback failed: ${err instanceof Error ? err.message : String(err)}`);
            },
          );
      });
      row.append(button);
    }
    body.append(row);
  }
  if (uuid) {
    const reasons = card.overrideReasons ?? [];
    const form = h("form", { class: "card-override" });
    const selectId = `override-${uuid}`;
    const select = h("select", { id: selectId, name: "reason" });
    select.append(
      h("option", { value: "" }, reasons.length > 0 ? "Choose a reason…" : "No reason"),
    );
    reasons.forEach((r, i) => {
      select.append(h("option", { value: String(i) }, r.display));
    });
    const commentId = `comment-${uuid}`;
    const comment = h("input", {
      id: commentId,
      name: "comment",
      type: "text",
      autocomplete: "off",
    });
    form.append(
      h("label", { for: selectId }, "Dismiss reason"),
      select,
      h("label", { for: commentId }, "Comment"),
      comment,
      h("button", { type: "submit", class: "dismiss" }, "Dismiss"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = select.value === "" ? undefined : reasons[Number(select.value)];
      const userComment = comment.value.trim();
      actions
        .feedback({
          card: uuid,
          outcome: "overridden",
          ...(reason || userComment
            ? {
                overrideReason: {
                  ...(reason ? { reason } : {}),
                  ...(userComment ? { userComment } : {}),
                },
              }
            : {}),
          outcomeTimestamp: new Date().toISOString(),
        })
        .then(
          () => {
            body.classList.add("dismissed");
            say(`Dismissed${reason ? ` (${reason.display})` : ""}: feedback sent.`);
          },
          (err: unknown) => {
            say(`Feedback failed: ${err instanceof Error ? err.message : String(err)}`);
          },
        );
    });
    body.append(form);
  }
  body.append(result);
  return body;
}
