/**
 * Narrows the FHIRPath expression of each search parameter to the resource type it is searched on.
 *
 * Why: FHIR defines shared search parameters once for many types, so Medplum's schema gives
 * `Observation` the `code` parameter with the expression of every type that has one
 * (`AllergyIntolerance.code | … | Observation.code | …`), and its in-memory search evaluates that
 * whole union on every resource: about 2 ms per Observation (profiled), so a `code=` search over
 * the study fixtures' 1,661 Observations took 3.5 s a page. A branch rooted at another type
 * (`Condition.code`, `(DeviceRequest.code as CodeableConcept)`) can never select anything from an
 * Observation, so dropping those branches changes no result. Each type gets its own copy of the
 * parameter; the shared definition is left as it is.
 */
import { globalSchema } from "@medplum/core";

/** Splits at `|` outside parentheses, brackets and quotes. */
function topLevelBranches(expression: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === "'") quote = false;
    } else if (ch === "'") quote = true;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === "|" && depth === 0) {
      out.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(expression.slice(start).trim());
  return out;
}

/** The type a branch starts from (`Observation` of `(Observation.value as Quantity)`). */
function rootType(branch: string): string | undefined {
  return /^\(*\s*([A-Z][A-Za-z]*)\./.exec(branch)?.[1];
}

/**
 * The branches of `expression` that can select from `type`, or undefined when every branch can
 * (or the expression is not a union of type-rooted paths, which is then kept whole).
 */
export function narrowedExpression(expression: string, type: string): string | undefined {
  const branches = topLevelBranches(expression);
  if (branches.length < 2) return undefined;
  const roots = branches.map(rootType);
  // A branch not rooted at a type name (a function, a literal) may select from anything.
  if (roots.some((r) => r === undefined)) return undefined;
  const kept = branches.filter((_, i) => roots[i] === type || roots[i] === "Resource");
  if (kept.length === 0 || kept.length === branches.length) return undefined;
  return kept.join(" | ");
}

/** Gives each of `types` its own narrowed copy of every shared search parameter. */
export function narrowSearchParameters(types: readonly string[]): void {
  for (const type of types) {
    const params = globalSchema.types[type]?.searchParams;
    if (params === undefined) continue;
    for (const [code, param] of Object.entries(params)) {
      const narrowed =
        param.expression === undefined ? undefined : narrowedExpression(param.expression, type);
      if (narrowed !== undefined) params[code] = { ...param, expression: narrowed };
    }
  }
}
