/**
 * The demo EHR page's patient list: each fixture patient with its name and one line saying what
 * it shows, from the study table (kang2020 Table 1 rows) or the scenario's name.
 */
import type { Bundle, HumanName, Patient } from "fhir/r4.js";
import { STUDY_PATIENTS } from "../../fixtures/study/trajectories.js";
import type { DemoPatient } from "./router.js";

const SCENARIO_LINES: Readonly<Record<string, string>> = {
  "warfarin-active": "on warfarin: an iguratimod order gets the warfarin interaction card",
  pregnant: "pregnant: an iguratimod order is contraindicated",
  "missing-baseline-labs": "last labs 45 days old: an order asks for baseline labs",
  "critical-anemia-active-order": "active iguratimod order and Hb 75 g/L: critical anaemia",
  "monitoring-overdue": "on iguratimod, last Hb and ALT 60 days ago: monitoring overdue",
  "paginated-labs": "four years of monthly labs (the heavy chart, paged searches)",
  "stopped-after-week24": "complete response at week 24, then stopped for an adverse event",
  "window-open-no-proteinuria": "day 150 with no proteinuria yet: week-24 assessment due",
  "window-closed-lost-to-follow-up": "lost to follow-up: window closed, no labs for 200 days",
  "pre-existing-grade1-anaemia": "Hb 112 before iguratimod, 108 now: anaemia that was there before",
  "alt-rise-resolved": "ALT 130 U/L that normalised: no card, a resolved alert",
};

const STOP_REASON: Readonly<Record<string, string>> = {
  relapse: "stopped for a renal relapse",
  "not-tolerated": "stopped, not tolerated",
  "extra-renal": "stopped for extra-renal disease",
  "no-response": "stopped for no response",
};

function nameOf(patient: Patient): string {
  const n: HumanName | undefined = patient.name?.[0];
  const text = n?.text ?? [...(n?.given ?? []), n?.family ?? ""].join(" ").trim();
  return text === "" ? (patient.id ?? "") : text;
}

function describe(id: string): string {
  const study = /^kang-(\d+)$/.exec(id);
  if (study) {
    const p = STUDY_PATIENTS.find((x) => x.n === Number(study[1]));
    if (!p) return "study patient";
    const parts = [
      `study patient ${String(p.n)}: ${String(p.age)} y ${p.sex}, class ${p.lnClass}`,
      `${String(p.prior.length)} prior courses`,
      `outcome ${p.outcome}`,
      ...(p.stopReason
        ? [`${STOP_REASON[p.stopReason] ?? "stopped"} on day ${String(p.stopDay)}`]
        : []),
    ];
    return parts.join(", ");
  }
  const scenario = /^scn-(.+)$/.exec(id)?.[1];
  return (scenario && SCENARIO_LINES[scenario]) ?? "scenario patient";
}

export function demoPatients(bundles: readonly Bundle[]): DemoPatient[] {
  const out: DemoPatient[] = [];
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      const r = entry.resource;
      if (r?.resourceType !== "Patient" || !r.id) continue;
      out.push({ id: r.id, name: nameOf(r as Patient), description: describe(r.id) });
    }
  }
  return out;
}
