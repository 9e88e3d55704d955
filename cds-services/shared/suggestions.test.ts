import type { FhirResource, MedicationRequest } from "fhir/r4.js";
import { describe, expect, it } from "vitest";
import { cardViolations } from "../../src/hooks/validate-response.js";
import { stopIguratimodSuggestions, withoutEmptyValues } from "./suggestions.js";

/** An active iguratimod order as some EHRs send it: empty elements FHIR does not allow. */
const sloppyOrder = {
  resourceType: "MedicationRequest",
  id: "igu-1",
  status: "active",
  intent: "order",
  subject: { reference: "Patient/p1" },
  medicationCodeableConcept: { text: "Iguratimod 25 mg tablet", coding: [] },
  note: [],
  dosageInstruction: [{ text: "25 mg twice daily", additionalInstruction: [{}] }],
  dispenseRequest: { validityPeriod: { start: "2026-01-01", end: "" } },
  groupIdentifier: null,
} as unknown as MedicationRequest;

describe("withoutEmptyValues", () => {
  it("leaves out null, empty strings, arrays and objects at any depth, and keeps everything else", () => {
    expect(withoutEmptyValues(sloppyOrder)).toEqual({
      resourceType: "MedicationRequest",
      id: "igu-1",
      status: "active",
      intent: "order",
      subject: { reference: "Patient/p1" },
      medicationCodeableConcept: { text: "Iguratimod 25 mg tablet" },
      dosageInstruction: [{ text: "25 mg twice daily" }],
      dispenseRequest: { validityPeriod: { start: "2026-01-01" } },
    });
  });

  it("keeps false and 0, which are values", () => {
    expect(withoutEmptyValues({ doNotPerform: false, dose: 0, list: [0, false] })).toEqual({
      doNotPerform: false,
      dose: 0,
      list: [0, false],
    });
  });
});

describe("stopIguratimodSuggestions", () => {
  it("sends the EHR's order back whole, stopped, and valid for CDS Hooks even when the EHR's copy was not", () => {
    const suggestions = stopIguratimodSuggestions([sloppyOrder as FhirResource], "anaemia grade 3");
    expect(suggestions).toHaveLength(1);
    const action = suggestions[0]?.actions?.[0];
    expect(action).toMatchObject({
      type: "update",
      resource: {
        resourceType: "MedicationRequest",
        id: "igu-1",
        status: "stopped",
        statusReason: { text: "anaemia grade 3" },
        subject: { reference: "Patient/p1" },
        dispenseRequest: { validityPeriod: { start: "2026-01-01" } },
      },
    });
    const card = {
      uuid: "4e0a3a1e-3283-4575-ab82-028d55fe2719",
      summary: "Anaemia on iguratimod",
      indicator: "critical",
      source: { label: "ln-cds" },
      suggestions,
      selectionBehavior: "any",
    };
    expect(cardViolations(card)).toEqual([]);
  });
});
