/** FHIR search parameter values, built one way for the services' prefetch and the monitor. */

/** A token parameter's value that matches any of `codes` in `system`: "system|a,system|b". */
export function anyCodeOf(system: string, codes: Iterable<string>): string {
  const tokens: string[] = [];
  for (const code of codes) tokens.push(`${system}|${code}`);
  return tokens.join(",");
}
