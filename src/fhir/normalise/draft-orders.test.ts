import type { Medication, MedicationRequest } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { draftIguratimodOrder } from "../../../fixtures/build.js";
import { doseCheck } from "../../clinical/dose.js";
import { readDraftOrder } from "./draft-orders.js";

const UCUM = "http://unitsofmeasure.org";

/** A draft as the CDS Hooks Sandbox sends it: one pill of a product named with its strength. */
const sandboxDraft = {
  resourceType: "MedicationRequest",
  id: "request-123",
  status: "draft",
  intent: "order",
  medicationCodeableConcept: {
    coding: [{ system: "urn:local", code: "IGU25", display: "Iguratimod 25 MG Oral Tablet" }],
    text: "Iguratimod 25 MG Oral Tablet",
  },
  dosageInstruction: [
    {
      doseAndRate: [{ doseQuantity: { value: 1, system: UCUM, code: "{pill}" } }],
      timing: { repeat: { frequency: 2, period: 1, periodUnit: "d" } },
    },
  ],
} as MedicationRequest;

describe("readDraftOrder", () => {
  it("reads iguratimod 25 mg twice daily, tolerating single objects for arrays", () => {
    // R4 wants arrays for these three; some EHRs send single objects.
    const draft = {
      ...draftIguratimodOrder("p", undefined, { id: "d" }),
      category: { text: "outpatient" },
      reasonCode: { text: "LN" },
      dosageInstruction: {
        doseAndRate: { doseQuantity: { value: 25, unit: "mg", code: "mg" } },
        timing: { repeat: { frequency: 2, period: 1, periodUnit: "d" } },
      },
    } as unknown as MedicationRequest;
    const read = readDraftOrder(draft);
    expect(read).toMatchObject({ isIguratimod: true, ref: "MedicationRequest/d" });
    expect(read.lines).toEqual([
      {
        sent: "25 mg, 2 per 1 d",
        amount: { kind: "mass", value: 25, mgFactor: 1 },
        timing: { frequency: 2, period: 1, periodDays: 1, periodUnit: "d" },
      },
    ]);
    expect(doseCheck([read])).toBeUndefined();
  });

  it('1 {pill} of "Iguratimod 25 MG Oral Tablet" twice daily is 50 mg/day, the study regimen', () => {
    const read = readDraftOrder(sandboxDraft);
    expect(read.lines[0]?.amount).toEqual({ kind: "tablet", value: 1, strengthMg: 25 });
    expect(doseCheck([read])).toBeUndefined();
    const twoPills = structuredClone(sandboxDraft);
    const q = twoPills.dosageInstruction?.[0]?.doseAndRate?.[0]?.doseQuantity;
    if (q) q.value = 2;
    expect(doseCheck([readDraftOrder(twoPills)])).toMatchObject({
      indicator: "critical",
      decidingStep: { mgPerDay: 100 },
    });
  });

  it.each(["{tbl}", "{pill}", "tablet", "Tablets", "TAB"])("%s counts as tablets", (unit) => {
    const d = structuredClone(sandboxDraft);
    const dose = { value: 1, unit };
    (d.dosageInstruction?.[0]?.doseAndRate ?? [])[0] = { doseQuantity: dose };
    expect(readDraftOrder(d).lines[0]?.amount).toEqual({
      kind: "tablet",
      value: 1,
      strengthMg: 25,
    });
  });

  it("the strength of a Medication's ingredient (25 mg per tablet) wins over the name", () => {
    const med: Medication = {
      resourceType: "Medication",
      id: "igu",
      code: { text: "Iguratimod tablet" },
      ingredient: [
        {
          itemCodeableConcept: { text: "iguratimod" },
          strength: {
            numerator: { value: 25, unit: "mg", system: UCUM, code: "mg" },
            denominator: { value: 1, unit: "tablet", system: UCUM, code: "{tbl}" },
          },
        },
      ],
    };
    const { medicationCodeableConcept: _name, ...rest } = sandboxDraft;
    const d: MedicationRequest = { ...rest, medicationReference: { reference: "Medication/igu" } };
    const read = readDraftOrder(d, [med]);
    expect(read.isIguratimod).toBe(true);
    expect(read.lines[0]?.amount).toEqual({ kind: "tablet", value: 1, strengthMg: 25 });
  });

  it("a product without a stated strength leaves tablets unreadable (never a guessed strength)", () => {
    const d = structuredClone(sandboxDraft);
    d.medicationCodeableConcept = { text: "iguratimod" };
    const read = readDraftOrder(d);
    expect(read.lines[0]?.amount).toEqual({ kind: "tablet", value: 1 });
    expect(doseCheck([read])?.summary).toBe(
      'Iguratimod dose cannot be read: "1 {pill}, 2 per 1 d"',
    );
  });

  it("keeps sequence, counts `when` as administrations, reads BID and the top of a range", () => {
    const d: MedicationRequest = {
      ...sandboxDraft,
      dosageInstruction: [
        {
          sequence: 1,
          doseAndRate: [{ doseQuantity: { value: 25, code: "mg", system: UCUM } }],
          timing: { repeat: { when: ["MORN", "EVE"], period: 1, periodUnit: "d" } },
        },
        {
          sequence: 2,
          doseAndRate: [
            {
              doseRange: {
                low: { value: 25, code: "mg", system: UCUM },
                high: { value: 50, code: "mg", system: UCUM },
              },
            },
          ],
          timing: { code: { coding: [{ code: "BID" }] } },
        },
      ],
    };
    const f = doseCheck([readDraftOrder(d)]);
    expect(f?.steps.map((s) => [s.step, s.mgPerDay])).toEqual([
      [1, 50],
      [2, 100],
    ]);
    expect(f?.indicator).toBe("critical");
  });

  it("a period of 0 and a volume unit are passed on as sent, to be reported as unreadable", () => {
    const d: MedicationRequest = {
      ...sandboxDraft,
      dosageInstruction: [
        {
          doseAndRate: [{ doseQuantity: { value: 5, unit: "mL", code: "mL", system: UCUM } }],
          timing: { repeat: { frequency: 2, period: 0, periodUnit: "d" } },
        },
      ],
    };
    const line = readDraftOrder(d).lines[0];
    expect(line?.amount).toEqual({ kind: "other", value: 5, unit: "mL" });
    expect(line?.timing?.period).toBe(0);
    expect(doseCheck([readDraftOrder(d)])?.summary).toBe(
      'Iguratimod dose cannot be read: "5 mL, 2 per 0 d"',
    );
  });

  it("an empty draft is not iguratimod", () => {
    expect(
      readDraftOrder({ resourceType: "MedicationRequest" } as MedicationRequest).isIguratimod,
    ).toBe(false);
  });
});
