/** Codes the rules read (docs/clinical-rules.md#1-facts to #3-who). */

export type LabKind =
  | "protein24h"
  | "upcr"
  | "creatinine"
  | "albumin"
  | "hemoglobin"
  | "alt"
  | "urineRbc"
  | "rbcCasts"
  | "egfr";

export const LOINC_SYSTEM = "http://loinc.org";
export const SNOMED_SYSTEM = "http://snomed.info/sct";
export const RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm";
export const ATC_SYSTEM = "http://www.whocc.no/atc";
/** UCUM, the code system of units in FHIR R4 Quantity (https://ucum.org). */
export const UCUM_SYSTEM = "http://unitsofmeasure.org";

/**
 * Observation statuses whose value a rule may use (docs/clinical-rules.md#1-facts); FHIR R4
 * ObservationStatus, https://hl7.org/fhir/R4/valueset-observation-status.html.
 */
export const USABLE_OBSERVATION_STATUSES: ReadonlySet<string> = new Set([
  "final",
  "amended",
  "corrected",
]);

/**
 * Statuses of a MedicationStatement or MedicationRequest that the rules never read: the record
 * is an error, was not taken, or is not (yet) an order (docs/clinical-rules.md#2-medications).
 * FHIR R4 https://hl7.org/fhir/R4/valueset-medication-statement-status.html and
 * https://hl7.org/fhir/R4/valueset-medicationrequest-status.html.
 */
export const UNREAD_MEDICATION_STATUSES: ReadonlySet<string> = new Set([
  "entered-in-error",
  "not-taken",
  "intended",
  "cancelled",
  "draft",
]);

/**
 * A Condition with one of these verification statuses, or one of these clinical statuses, is
 * not read (docs/clinical-rules.md#3-who). FHIR R4
 * https://terminology.hl7.org/CodeSystem-condition-ver-status.html and
 * https://terminology.hl7.org/CodeSystem-condition-clinical.html.
 */
export const UNREAD_CONDITION_VERIFICATION: ReadonlySet<string> = new Set([
  "entered-in-error",
  "refuted",
]);
export const INACTIVE_CONDITION_CLINICAL: ReadonlySet<string> = new Set(["inactive", "resolved"]);

export interface LabCode {
  readonly kind: LabKind;
  /** Multiplier applied after conversion (26801-1 is a 12-h collection: ×2 to a day). */
  readonly multiplier?: number;
  /** Molecular weight (g/mol) for mass↔substance conversions. */
  readonly molecularWeight?: number;
}

export const CANONICAL_UNIT: Readonly<Record<LabKind, string>> = {
  protein24h: "g/(24.h)",
  upcr: "g/g",
  creatinine: "umol/L",
  albumin: "g/L",
  hemoglobin: "g/L",
  alt: "U/L",
  urineRbc: "/[HPF]",
  rbcCasts: "/[LPF]",
  egfr: "mL/min/{1.73_m2}",
};

export const CREATININE_MOLECULAR_WEIGHT = 113.12;
/** docs/clinical-rules.md#1-facts: hemoglobin mmol/L ×16.1145 → g/L, i.e. 16114.5 g/mol (monomer convention). */
export const HEMOGLOBIN_MOLECULAR_WEIGHT = 16114.5;

/** LOINC 26801-1 Protein [Mass/time] in 12 hour Urine (https://loinc.org/26801-1). */
export const PROTEIN_12H_URINE_LOINC = "26801-1";

/**
 * The LOINC codes of each lab fact (docs/clinical-rules.md#1-facts lists them with their
 * names; each is at https://loinc.org/<code>).
 */
export const LAB_CODES: ReadonlyMap<string, LabCode> = new Map<string, LabCode>([
  ["2889-4", { kind: "protein24h" }],
  [PROTEIN_12H_URINE_LOINC, { kind: "protein24h", multiplier: 2 }],
  ["2890-2", { kind: "upcr" }],
  ["13801-6", { kind: "upcr" }],
  // mg/mmol: mg protein per mmol creatinine; ÷113.12 gives g/g
  ["34366-5", { kind: "upcr", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["40486-3", { kind: "upcr", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["2160-0", { kind: "creatinine", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["38483-4", { kind: "creatinine", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["14682-9", { kind: "creatinine", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["59826-8", { kind: "creatinine", molecularWeight: CREATININE_MOLECULAR_WEIGHT }],
  ["1751-7", { kind: "albumin" }],
  ["61151-7", { kind: "albumin" }],
  ["61152-5", { kind: "albumin" }],
  ["2862-1", { kind: "albumin" }],
  ["718-7", { kind: "hemoglobin", molecularWeight: HEMOGLOBIN_MOLECULAR_WEIGHT }],
  ["20509-6", { kind: "hemoglobin", molecularWeight: HEMOGLOBIN_MOLECULAR_WEIGHT }],
  ["30350-3", { kind: "hemoglobin", molecularWeight: HEMOGLOBIN_MOLECULAR_WEIGHT }],
  ["30313-1", { kind: "hemoglobin", molecularWeight: HEMOGLOBIN_MOLECULAR_WEIGHT }],
  ["59260-0", { kind: "hemoglobin", molecularWeight: HEMOGLOBIN_MOLECULAR_WEIGHT }],
  ["1742-6", { kind: "alt" }],
  ["1743-4", { kind: "alt" }],
  ["1744-2", { kind: "alt" }],
  ["76625-3", { kind: "alt" }],
  ["77144-4", { kind: "alt" }],
  ["13945-1", { kind: "urineRbc" }],
  ["5807-3", { kind: "rbcCasts" }],
  ["98979-8", { kind: "egfr" }],
  ["62238-1", { kind: "egfr" }],
  ["33914-3", { kind: "egfr" }],
  ["69405-9", { kind: "egfr" }],
]);

/**
 * LOINC 16285-9 Creatinine/Protein [Mass Ratio] in Urine (https://loinc.org/16285-9): the
 * inverse of the protein/creatinine ratio, never read (docs/clinical-rules.md#1-facts).
 */
export const INVERSE_UPCR_LOINC = "16285-9";
/** LOINC 82810-3 Pregnancy status (https://loinc.org/82810-3). */
export const PREGNANCY_STATUS_LOINC = "82810-3";
/** SNOMED CT 77386006 |Pregnancy| (https://browser.ihtsdotools.org/). */
export const SNOMED_PREGNANT = "77386006";
/** SNOMED CT 60001007 |Not pregnant| (https://browser.ihtsdotools.org/). */
export const SNOMED_NOT_PREGNANT = "60001007";
/**
 * ICD-10 Z33 Pregnant state (WHO, https://icd.who.int/browse10/2019/en#/Z33) and ICD-10-CM
 * Z33.1 Pregnant state, incidental (CMS/CDC ICD-10-CM): a pregnancy Condition.
 */
export const ICD10_PREGNANT: readonly string[] = ["Z33", "Z33.1"];

/**
 * docs/clinical-rules.md#4-prior-courses: reasons that decide an otherwise unknown course
 * outcome. SNOMED CT (https://browser.ihtsdotools.org/) 266721009 |Absent response to treatment|,
 * 407563006 |Treatment not tolerated|.
 */
export const SNOMED_ABSENT_RESPONSE = "266721009";
export const SNOMED_NOT_TOLERATED = "407563006";
/** docs/clinical-rules.md#5-eligibility: 281647001 |Adverse reaction|, like 407563006, names a stop for an adverse event. */
export const SNOMED_ADVERSE_REACTION = "281647001";

export type ImmunosuppressantAgent =
  | "cyclophosphamide"
  | "mycophenolate"
  | "tacrolimus"
  | "cyclosporine"
  | "voclosporin"
  | "leflunomide"
  | "azathioprine"
  | "sirolimus"
  | "methotrexate"
  | "rituximab"
  | "obinutuzumab"
  | "belimumab"
  | "tripterygium";

export type Agent = ImmunosuppressantAgent | "iguratimod" | "warfarin";

export interface AgentCodes {
  readonly agent: Agent;
  readonly rxnorm: readonly string[];
  readonly atc: readonly string[];
  /** Lower-case names and synonyms, matched as substrings of text/display. */
  readonly names: readonly string[];
  /** Short abbreviations, matched only as whole words (so "CYC" does not match "cyclosporine"). */
  readonly abbreviations?: readonly string[];
}

/**
 * docs/clinical-rules.md#2-medications agents table: RxNorm ingredient codes (NLM RxNav, https://mor.nlm.nih.gov/RxNav/) and ATC
 * codes, current and retired (WHOCC, https://atcddd.fhi.no/atc_ddd_index/). The RxNorm ingredient
 * codes of voclosporin and belimumab could not be verified here, so none is listed (a wrong code
 * could claim another drug); both are recognised by ATC and by name.
 */
export const AGENTS: readonly AgentCodes[] = [
  {
    agent: "cyclophosphamide",
    rxnorm: ["3002"],
    atc: ["L01AA01"],
    names: ["cyclophosphamide"],
    abbreviations: ["cyc"],
  },
  {
    agent: "mycophenolate",
    rxnorm: ["68149", "7145"],
    atc: ["L04AA06"],
    names: ["mycophenolate", "mycophenolic acid"],
    abbreviations: ["mmf"],
  },
  { agent: "tacrolimus", rxnorm: ["42316"], atc: ["L04AD02", "L04AA05"], names: ["tacrolimus"] },
  {
    agent: "cyclosporine",
    rxnorm: ["3008"],
    atc: ["L04AD01", "L04AA01"],
    names: ["cyclosporine", "ciclosporin"],
  },
  { agent: "voclosporin", rxnorm: [], atc: ["L04AD03"], names: ["voclosporin"] },
  { agent: "leflunomide", rxnorm: ["27169"], atc: ["L04AK01", "L04AA13"], names: ["leflunomide"] },
  { agent: "azathioprine", rxnorm: ["1256"], atc: ["L04AX01"], names: ["azathioprine"] },
  { agent: "sirolimus", rxnorm: ["35302"], atc: ["L04AH01", "L04AA10"], names: ["sirolimus"] },
  { agent: "methotrexate", rxnorm: ["6851"], atc: ["L04AX03", "L01BA01"], names: ["methotrexate"] },
  { agent: "rituximab", rxnorm: ["121191"], atc: ["L01FA01", "L01XC02"], names: ["rituximab"] },
  {
    agent: "obinutuzumab",
    rxnorm: ["974779"],
    atc: ["L01FA03", "L01XC15"],
    names: ["obinutuzumab"],
  },
  { agent: "belimumab", rxnorm: [], atc: ["L04AG04", "L04AA26"], names: ["belimumab"] },
  { agent: "tripterygium", rxnorm: [], atc: [], names: ["tripterygium", "雷公藤"] },
  {
    agent: "iguratimod",
    rxnorm: [],
    atc: [],
    names: [
      "iguratimod",
      "t-614",
      "艾拉莫德",
      "イグラチモド",
      "careram",
      "ケアラム",
      "kolbet",
      "コルベット",
      "iremod",
    ],
  },
  { agent: "warfarin", rxnorm: ["11289"], atc: ["B01AA03"], names: ["warfarin"] },
];

export const IMMUNOSUPPRESSANTS: ReadonlySet<Agent> = new Set<Agent>(
  AGENTS.map((a) => a.agent).filter((a) => a !== "iguratimod" && a !== "warfarin"),
);

const byRxnorm = new Map<string, Agent>();
const byAtc = new Map<string, Agent>();
for (const a of AGENTS) {
  for (const c of a.rxnorm) byRxnorm.set(c, a.agent);
  for (const c of a.atc) byAtc.set(c.toUpperCase(), a.agent);
}

export interface CodingLike {
  readonly system?: string | undefined;
  readonly code?: string | undefined;
  readonly display?: string | undefined;
}

/** The whole-word patterns of the abbreviations, compiled once (this runs for every coding). */
const NAME_MATCHERS = AGENTS.map((a) => ({
  agent: a.agent,
  names: a.names,
  abbreviations: (a.abbreviations ?? []).map((ab) => new RegExp(`(^|[^a-z])${ab}([^a-z]|$)`)),
}));

/** A regular expression's metacharacters escaped, so it matches `s` literally. */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");

/**
 * Matches wherever any name or abbreviation of NAME_MATCHERS would: every name as a literal,
 * every abbreviation as its whole-word pattern, as one alternation. A text it does not match
 * names no agent, and it answers in one pass where the list took some thirty substring searches
 * and two patterns, run for each display, code and text of every medication a chart holds that
 * no code recognises (prednisone, hydroxychloroquine, …). When it matches, the list still
 * decides, so the first agent in AGENTS' order wins as before.
 */
const ANY_NAME = new RegExp(
  AGENTS.flatMap((a) => [
    ...a.names.map(literal),
    ...(a.abbreviations ?? []).map((ab) => `(?:^|[^a-z])${ab}(?:[^a-z]|$)`),
  ]).join("|"),
);

function agentByName(text: string): Agent | undefined {
  const lower = text.toLowerCase();
  if (!ANY_NAME.test(lower)) return undefined;
  for (const a of NAME_MATCHERS) {
    for (const n of a.names) if (lower.includes(n)) return a.agent;
    for (const ab of a.abbreviations) if (ab.test(lower)) return a.agent;
  }
  return undefined;
}

/**
 * docs/clinical-rules.md#2-medications: RxNorm ingredient, ATC (current or legacy), or a
 * name/synonym in code, display or text. A system, code, display or text that is not a string
 * (sent by a broken EHR despite the types) is read as absent: never guessed from.
 */
export function recognizeAgent(codings: readonly CodingLike[], text?: string): Agent | undefined {
  for (const c of codings) {
    if (typeof c.code !== "string" || c.code === "") continue;
    const sys = typeof c.system === "string" ? c.system : "";
    if (sys.includes("rxnorm")) {
      const a = byRxnorm.get(c.code);
      if (a) return a;
    } else if (sys.includes("atc")) {
      const a = byAtc.get(c.code.toUpperCase());
      if (a) return a;
    }
  }
  for (const c of codings) {
    // iguratimod has no RxNorm/ATC: a local code may carry the name itself
    const a =
      (typeof c.display === "string" && c.display !== "" && agentByName(c.display)) ||
      (typeof c.code === "string" && c.code !== "" && agentByName(c.code));
    if (a) return a;
  }
  return typeof text === "string" && text !== "" ? agentByName(text) : undefined;
}

/**
 * docs/clinical-rules.md#3-who: lupus nephritis Condition codes. ICD-10-CM (CMS/CDC) M32.14 Glomerular disease in systemic
 * lupus erythematosus; ICD-10 (WHO, https://icd.who.int/browse10/2019/en) N08.5 Glomerular
 * disorders in systemic connective tissue disorders, read as LN only beside M32.1 Systemic lupus
 * erythematosus with organ or system involvement.
 */
export const LN_CODES = {
  icd10cm: ["M32.14"],
  icd10N085: "N08.5",
  icd10M321Prefix: "M32.1",
  // 68815009 |Systemic lupus erythematosus glomerulonephritis syndrome|; its WHO-class descendants are
  // caught by their display text ("lupus" + "nephritis"/"glomerulonephritis") rather than an unverified code list.
  snomed: ["68815009"],
} as const;

/**
 * Labs a card may offer to order (LOINC, https://loinc.org/<code>): the baseline labs of
 * docs/clinical-rules.md#8-ordering (hemoglobin, ALT, creatinine), the response labs, and the
 * KDIGO 2024 work-up of a relapse or of no response (urine sediment, C3, C4, anti-dsDNA).
 */
export type OrderableLab =
  | "hemoglobin"
  | "alt"
  | "creatinine"
  | "protein24h"
  | "albumin"
  | "urineSediment"
  | "c3"
  | "c4"
  | "antiDsDna";

export const ORDERABLE_LAB_CODES: Readonly<
  Record<OrderableLab, { readonly loinc: string; readonly display: string }>
> = {
  hemoglobin: { loinc: "718-7", display: "Hemoglobin [Mass/volume] in Blood" },
  alt: {
    loinc: "1742-6",
    display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
  },
  creatinine: { loinc: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma" },
  protein24h: { loinc: "2889-4", display: "Protein [Mass/time] in 24 hour Urine" },
  albumin: { loinc: "1751-7", display: "Albumin [Mass/volume] in Serum or Plasma" },
  urineSediment: {
    loinc: "13945-1",
    display: "Erythrocytes [#/area] in Urine sediment by Microscopy high power field",
  },
  c3: { loinc: "4485-9", display: "Complement C3 [Mass/volume] in Serum or Plasma" },
  c4: { loinc: "4498-2", display: "Complement C4 [Mass/volume] in Serum or Plasma" },
  antiDsDna: { loinc: "5130-0", display: "DNA double strand Ab [Units/volume] in Serum" },
};

// SNOMED CT codes ln-cds writes into suggested resources or reads from a draft order
// (SNOMED International browser, https://browser.ihtsdotools.org/).
/** 108252007 |Laboratory procedure|: the category of a suggested lab ServiceRequest. */
export const SNOMED_LABORATORY_PROCEDURE = {
  code: "108252007",
  display: "Laboratory procedure",
} as const;
/** 26643006 |Oral route|: the route of the study regimen a card suggests. */
export const SNOMED_ORAL_ROUTE = { code: "26643006", display: "Oral" } as const;
/** 732936001 |Tablet (unit of presentation)|: a dose counted in tablets. */
export const SNOMED_TABLET = "732936001";

/** The glucocorticoids whose dose is shown as prednisone-equivalent (docs/clinical-rules.md#9-cards). */
export type Glucocorticoid =
  | "prednisone"
  | "prednisolone"
  | "methylprednisolone"
  | "dexamethasone"
  | "hydrocortisone";

/** RxNorm ingredient code of each glucocorticoid (NLM RxNav, https://mor.nlm.nih.gov/RxNav/). */
export const GLUCOCORTICOID_CODES: Readonly<Record<Glucocorticoid, readonly string[]>> = {
  prednisone: ["8640"],
  prednisolone: ["8638"],
  methylprednisolone: ["6902"],
  dexamethasone: ["3264"],
  hydrocortisone: ["5492"],
};
