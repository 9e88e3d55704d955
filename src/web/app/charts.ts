/**
 * The course charts, drawn with Observable Plot: each chart is a list of marks (bands, rules,
 * lines, dots) over one shared UTC time axis, so thresholds and the week-24 window are data, not
 * drawing code. Every point carries its date, value, unit and source Observation in a tip.
 */
import * as Plot from "@observablehq/plot";
import { DAY_MS, defaultThresholds, type Thresholds } from "../../clinical/index.js";
import type { CourseView, Point, Verdict } from "./course.js";

const COLOURS = { info: "#1f5fa8", warning: "#b35c00", critical: "#b3261e" } as const;
const WIDTH = 760;

interface TimedPoint extends Point {
  readonly date: Date;
}

function withDates(points: readonly Point[]): TimedPoint[] {
  return points.map((p) => ({ ...p, date: new Date(p.time) }));
}

function timeAxis(view: CourseView): Plot.ScaleOptions {
  return {
    type: "utc",
    domain: [new Date(view.from - 14 * DAY_MS), new Date(view.now + 7 * DAY_MS)],
    label: null,
  };
}

/** The week-24 assessment window (days 140–196 of the course), shaded. */
function windowBand(view: CourseView, t: Thresholds): Plot.Markish {
  if (view.day0 === undefined) return null;
  const band = [
    {
      x1: new Date(view.day0 + t.assessmentWindowStartDay.value * DAY_MS),
      x2: new Date(view.day0 + t.assessmentWindowEndDay.value * DAY_MS),
    },
  ];
  return Plot.rectX(band, { x1: "x1", x2: "x2", fill: "#cfe0f5", fillOpacity: 0.7 });
}

function verdictRules(view: CourseView): Plot.Markish {
  return Plot.ruleX(
    view.verdicts.map((v) => ({ date: new Date(v.at), indicator: v.finding.indicator })),
    {
      x: "date",
      stroke: (d: { indicator: keyof typeof COLOURS }) => COLOURS[d.indicator],
      strokeDasharray: "4,3",
      strokeOpacity: 0.8,
    },
  );
}

function seriesMarks(points: readonly Point[], colour = "#333"): Plot.Markish[] {
  const data = withDates(points);
  return [
    Plot.line(data, { x: "date", y: "value", stroke: colour, strokeOpacity: 0.6 }),
    Plot.dot(data, {
      x: "date",
      y: "value",
      fill: colour,
      r: 3,
      tip: true,
      channels: {
        value: { value: "label", label: "as recorded" },
        unit: "unit",
        source: { value: "ref", label: "source" },
      },
    }),
  ];
}

function chart(
  view: CourseView,
  t: Thresholds,
  o: { label: string; id: string; marks: Plot.Markish[]; height?: number; y?: Plot.ScaleOptions },
): HTMLElement {
  const svg = Plot.plot({
    width: WIDTH,
    height: o.height ?? 150,
    marginLeft: 150,
    marginRight: 96,
    x: timeAxis(view),
    y: { label: o.label, grid: true, ...(o.y ?? { zero: true }) },
    ariaLabel: o.label,
    marks: [windowBand(view, t), verdictRules(view), ...o.marks],
  });
  // Plot labels each mark's <g> with aria-label, which a role-less <g> may not carry: the chart
  // is one image named by its caption, and the marks keep their names as data attributes.
  for (const g of svg.querySelectorAll("g[aria-label]")) {
    g.setAttribute("data-mark", g.getAttribute("aria-label") ?? "");
    g.removeAttribute("aria-label");
  }
  svg.setAttribute("role", "img");
  const figure = document.createElement("figure");
  figure.className = "course-chart";
  figure.dataset.chart = o.id;
  const caption = document.createElement("figcaption");
  caption.textContent = o.label;
  figure.append(caption, svg);
  return figure;
}

function thresholdRules(values: readonly { y: number; label: string }[]): Plot.Markish[] {
  return [
    Plot.ruleY(values, { y: "y", stroke: "#8a8a8a", strokeDasharray: "2,2" }),
    Plot.text(values, {
      y: "y",
      text: "label",
      frameAnchor: "right",
      textAnchor: "start",
      dx: 6,
      fill: "#444",
    }),
  ];
}

function coursesChart(view: CourseView, t: Thresholds): HTMLElement {
  const rows = view.courses.map((c) => ({
    agent: c.agent,
    start: new Date(c.start),
    end: new Date(c.end ?? view.now),
    status:
      c.end === undefined ? "ongoing" : `stopped ${new Date(c.end).toISOString().slice(0, 10)}`,
    reasons:
      c.reasons
        .map((r) => r.text)
        .filter((x) => x !== "")
        .join("; ") || "—",
    iguratimod: c.agent === "iguratimod",
  }));
  const marks: Plot.Markish[] = [
    Plot.barX(rows, {
      x1: "start",
      x2: "end",
      y: "agent",
      fill: (d: { iguratimod: boolean }) => (d.iguratimod ? "#b3261e" : "#7f8fa6"),
      tip: true,
      channels: { status: "status", "stop reasons": "reasons" },
    }),
  ];
  return chart(view, t, {
    label: "Immunosuppressant courses",
    id: "courses",
    marks,
    height: 40 + 26 * Math.max(1, new Set(rows.map((r) => r.agent)).size),
    y: { grid: false, label: null },
  });
}

function verdictsChart(view: CourseView, t: Thresholds, focus?: string): HTMLElement {
  const rows = view.verdicts.map((v: Verdict) => ({
    date: new Date(v.at),
    service: v.service,
    finding: v.finding.code,
    summary: v.finding.summary,
    indicator: v.finding.indicator,
    focus: v.finding.code === focus,
  }));
  return chart(view, t, {
    label: "Verdicts of the services",
    id: "verdicts",
    height: 40 + 28 * Math.max(1, new Set(rows.map((r) => r.service)).size),
    y: { grid: false, label: null },
    marks: [
      Plot.dot(rows, {
        x: "date",
        y: "service",
        r: (d: { focus: boolean }) => (d.focus ? 8 : 5),
        fill: (d: { indicator: keyof typeof COLOURS }) => COLOURS[d.indicator],
        symbol: "diamond",
        tip: true,
        channels: { finding: "finding", summary: "summary" },
      }),
    ],
  });
}

export function courseCharts(
  view: CourseView,
  focus?: string,
  t: Thresholds = defaultThresholds,
): HTMLElement[] {
  const s = view.series;
  const charts: HTMLElement[] = [coursesChart(view, t), verdictsChart(view, t, focus)];
  if (view.steroid.length > 0) {
    const doses = view.steroid.map((d) => ({
      x1: new Date(d.start),
      x2: new Date(d.end),
      y: d.mgPerDay,
      ref: d.ref,
    }));
    charts.push(
      chart(view, t, {
        label: "Glucocorticoid (mg/day)",
        id: "steroid",
        height: 100,
        marks: [
          Plot.rectY(doses, {
            x1: "x1",
            x2: "x2",
            y: "y",
            fill: "#a0a0a0",
            tip: true,
            channels: { source: "ref" },
          }),
        ],
      }),
    );
  }
  const proteinLines = [
    { y: t.crProteinBelow.value, label: `${String(t.crProteinBelow.value)} g/24h` },
    { y: t.prProteinAtMost.value, label: `${String(t.prProteinAtMost.value)} g/24h` },
    ...(view.lines.proteinHalfBaseline !== undefined
      ? [{ y: view.lines.proteinHalfBaseline, label: "50 % of baseline" }]
      : []),
  ];
  charts.push(
    chart(view, t, {
      label: "Proteinuria (g/24h; UPCR g/g)",
      id: "protein",
      marks: [...thresholdRules(proteinLines), ...seriesMarks(s.protein, "#5b3a8c")],
    }),
  );
  const hbLines = [
    { y: view.lines.hbLln, label: `LLN ${String(view.lines.hbLln)}` },
    { y: t.anemiaGrade2Below.value, label: String(t.anemiaGrade2Below.value) },
    { y: t.anemiaGrade3Below.value, label: String(t.anemiaGrade3Below.value) },
    ...(view.lines.hbBaselineMinusFall !== undefined
      ? [
          {
            y: view.lines.hbBaselineMinusFall,
            label: `baseline − ${String(t.anemiaFallWarningAtLeast.value)}`,
          },
        ]
      : []),
  ];
  charts.push(
    chart(view, t, {
      label: "Hemoglobin (g/L)",
      id: "hemoglobin",
      marks: [...thresholdRules(hbLines), ...seriesMarks(s.hemoglobin, "#b3261e")],
      y: { domain: [0, Math.max(160, ...s.hemoglobin.map((p) => p.value))] },
    }),
  );
  charts.push(
    chart(view, t, {
      label: "ALT (× ULN)",
      id: "alt",
      marks: [
        ...thresholdRules([
          { y: 1, label: "ULN" },
          {
            y: t.liverGrade2AboveMultiple.value,
            label: `${String(t.liverGrade2AboveMultiple.value)}× ULN`,
          },
          {
            y: t.liverGrade3AboveMultiple.value,
            label: `${String(t.liverGrade3AboveMultiple.value)}× ULN`,
          },
        ]),
        ...seriesMarks(s.altXUln, "#8c5a00"),
      ],
      y: { domain: [0, Math.max(6, ...s.altXUln.map((p) => p.value))] },
    }),
  );
  charts.push(
    chart(view, t, {
      label: "Albumin (g/L)",
      id: "albumin",
      marks: [
        ...thresholdRules([
          { y: t.prAlbuminAbove.value, label: `${String(t.prAlbuminAbove.value)} g/L` },
        ]),
        ...seriesMarks(s.albumin, "#1f5fa8"),
      ],
    }),
  );
  charts.push(
    chart(view, t, {
      label: "Creatinine (µmol/L)",
      id: "creatinine",
      marks: seriesMarks(s.creatinine, "#2e6b3a"),
    }),
    chart(view, t, {
      label: "eGFR (mL/min/1.73 m², CKD-EPI 2021)",
      id: "egfr",
      marks: seriesMarks(s.egfr, "#4c7a5a"),
    }),
  );
  return charts;
}
