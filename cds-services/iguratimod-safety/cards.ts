/**
 * Cards of the iguratimod-safety service: one per safety finding, with the deciding values as a
 * Markdown table, the data-quality notes, the finding in `extension["ln-cds"]`, and override
 * reasons on warning and critical cards (cds-contract "Every card").
 */
import { randomUUID } from "node:crypto";
import type { Card } from "../../src/hooks/schemas.js";
import type { Finding } from "../../src/clinical/index.js";

const STUDY_URL = "https://doi.org/10.1186/s13075-020-02154-7";
const CTCAE_URL =
  "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/docs/CTCAE_v5_Quick_Reference_8.5x11.pdf";

const DISPLAY: Record<string, string> = {
  anemia: "Anaemia on iguratimod",
  "liver-injury": "Liver injury on iguratimod",
  "monitoring-overdue": "Iguratimod safety monitoring overdue",
};

function table(finding: Finding): string {
  if (finding.decidingValues.length === 0) return "";
  const rows = finding.decidingValues.map((v) => {
    const range =
      v.referenceRange === undefined
        ? "—"
        : `${v.referenceRange.low ?? ""}–${v.referenceRange.high ?? ""}`;
    return `| ${v.label} | ${v.time.slice(0, 10)} | ${v.value} | ${v.unit} | ${range} | ${v.ref} |`;
  });
  return [
    "| value | date | result | unit | reference | resource |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function detail(finding: Finding): string {
  const parts = [table(finding)];
  if (finding.grade !== undefined) parts.push(`CTCAE v5.0 grade ${finding.grade}.`);
  parts.push(
    "Rule: ln-cds clinical rules §7 (CTCAE v5.0 grades; iguratimod labels; kang2020 safety follow-up).",
  );
  if (finding.notes.length > 0) {
    parts.push(
      "**Data-quality notes**\n\n" + finding.notes.map((n) => `- ${n.message}`).join("\n"),
    );
  }
  return parts.filter((p) => p !== "").join("\n\n");
}

export function safetyCard(finding: Finding): Card {
  const display = DISPLAY[finding.code] ?? finding.code;
  const serious = finding.indicator !== "info";
  return {
    uuid: randomUUID(),
    summary: finding.summary,
    indicator: finding.indicator,
    detail: detail(finding),
    source: {
      label: "ln-cds",
      url: finding.grade !== undefined ? CTCAE_URL : STUDY_URL,
      topic: { system: "urn:ln-cds:finding", code: finding.code, display },
    },
    ...(serious
      ? {
          overrideReasons: [
            {
              code: "already-addressed",
              system: "urn:ln-cds:override",
              display: "Already addressed",
            },
            {
              code: "not-drug-related",
              system: "urn:ln-cds:override",
              display: "Judged not drug-related",
            },
          ],
        }
      : {}),
    links: [
      { label: "Kang et al. 2020 (iguratimod in refractory LN)", url: STUDY_URL, type: "absolute" },
    ],
    extension: {
      "ln-cds": {
        finding: finding.code,
        ...(finding.evidence.length > 0 ? { evidence: [...finding.evidence] } : {}),
        ...(finding.grade !== undefined ? { grade: finding.grade } : {}),
      },
    },
  } as Card;
}
