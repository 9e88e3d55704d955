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

export const LAB_CODES: ReadonlyMap<string, LabCode> = new Map<string, LabCode>([
  ["2889-4", { kind: "protein24h" }],
  ["26801-1", { kind: "protein24h", multiplier: 2 }],
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

/** Protein/creatinine as creatinine/protein: the inverse ratio, never read (§1). */
export const INVERSE_UPCR_LOINC = "16285-9";
export const PREGNANCY_STATUS_LOINC = "82810-3";
export const SNOMED_PREGNANT = "77386006";
export const SNOMED_NOT_PREGNANT = "60001007";

/** §4: reasons that decide an otherwise unknown course outcome. */
export const SNOMED_ABSENT_RESPONSE = "266721009";
export const SNOMED_NOT_TOLERATED = "407563006";
/** §5: 281647001 |Adverse reaction|, like 407563006, names a stop for an adverse event. */
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
 * §2 agents table. The RxNorm ingredient codes of voclosporin and belimumab could not be verified
 * here, so none is listed (a wrong code could claim another drug); both are recognised by ATC and by name.
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

function agentByName(text: string): Agent | undefined {
  const lower = text.toLowerCase();
  for (const a of NAME_MATCHERS) {
    for (const n of a.names) if (lower.includes(n)) return a.agent;
    for (const ab of a.abbreviations) if (ab.test(lower)) return a.agent;
  }
  return undefined;
}

/** §2: RxNorm ingredient, ATC (current or legacy), or a name/synonym in code, display or text. */
export function recognizeAgent(codings: readonly CodingLike[], text?: string): Agent | undefined {
  for (const c of codings) {
    if (!c.code) continue;
    const sys = c.system ?? "";
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
    const a = (c.display && agentByName(c.display)) || (c.code && agentByName(c.code));
    if (a) return a;
  }
  return text ? agentByName(text) : undefined;
}

/** §3: lupus nephritis Condition codes. */
export const LN_CODES = {
  icd10cm: ["M32.14"],
  icd10N085: "N08.5",
  icd10M321Prefix: "M32.1",
  // 68815009 |Systemic lupus erythematosus glomerulonephritis syndrome|; its WHO-class descendants are
  // caught by their display text ("lupus" + "nephritis"/"glomerulonephritis") rather than an unverified code list.
  snomed: ["68815009"],
} as const;
