/**
 * refractory-ln-eligibility (patient-view): does this lupus nephritis patient meet the study's
 * refractory-LN criteria (docs/clinical-rules.md#5-eligibility)? Calm by default: only an eligible patient gets a
 * card, unless ELIGIBILITY_SHOW_ALL=true also asks for not-eligible and undecided verdicts.
 * Patients without LN, and patients already on iguratimod, are not evaluated.
 */
import {
  defaultThresholds,
  eligibilityLabKinds,
  refractoryEligibility,
  type Thresholds,
} from "../../src/clinical/index.js";
import type { CdsService } from "../types.js";
import { ALL_PATIENT_DATA_KEYS, patientDataOf, prefetchOf } from "../shared/prefetch.js";
import { eligibilityCard } from "../shared/eligibility-card.js";

export function refractoryLnEligibilityService(
  deps: { readonly showAll?: boolean; readonly thresholds?: Thresholds } = {},
): CdsService {
  const thresholds = deps.thresholds ?? defaultThresholds;
  const keys = ALL_PATIENT_DATA_KEYS;
  return {
    id: "refractory-ln-eligibility",
    hooks: ["patient-view"],
    title: "Refractory lupus nephritis: iguratimod eligibility",
    description:
      "Whether a lupus nephritis patient meets the kang2020 refractory-LN criteria (two failed immunosuppressants and proteinuria ≥ 1 g/24h) for a switch to iguratimod.",
    prefetch: prefetchOf(keys),
    requiredPrefetch: keys,
    evaluate(input) {
      const { facts, prefetchNotes } = patientDataOf(input, thresholds, {
        // Only the labs the rules read for this patient's courses: none on iguratimod, hemoglobin
        // and ALT only to judge an earlier iguratimod course.
        labKinds: (courses) => new Set(eligibilityLabKinds(courses, input.now)),
      });
      if (!facts.lnDiagnosis) return { cards: [] };
      const finding = refractoryEligibility(facts, input.now, thresholds);
      if (!finding) return { cards: [] };
      const showAll = deps.showAll ?? input.config.ELIGIBILITY_SHOW_ALL;
      if (finding.verdict !== "eligible" && !showAll) return { cards: [] };
      const patientRef = `Patient/${input.context.patientId}`;
      return {
        cards: [
          eligibilityCard(finding, {
            patientRef,
            thresholds,
            prefetchNotes,
            overrides: "response",
          }),
        ],
      };
    },
  };
}
