/**
 * Times patient-scoped searches on the demo FHIR server loaded with all fixtures (not a test).
 *   npx tsc -p tsconfig.bench.json && node dist/bench/fhir-server-search.js [--unindexed]
 * --unindexed: Medplum's plain MemoryRepository, for before/after comparisons.
 */
import type { Bundle } from "fhir/r4.js";
import { startFhirServer } from "../src/fhir-server/index.js";
import { allFixtureBundles } from "../fixtures/index.js";
import { LAB_CODES } from "../src/clinical/codes.js";

const ROUNDS = 15;
const unindexed = process.argv.includes("--unindexed");
const server = await startFhirServer({
  bundles: allFixtureBundles(new Date()),
  patientIndex: !unindexed,
});
const codes = [...LAB_CODES.keys()].map((c) => `http://loinc.org|${c}`).join(",");
const searches: Record<string, string> = {
  "labs, _count=1000": `Observation?patient=kang-04&code=${codes}&_sort=-date&_count=1000`,
  "labs, 20 a page": `Observation?patient=kang-04&code=${codes}&_sort=-date`,
  "all Observations, 7 a page": "Observation?patient=kang-04&_count=7",
  MedicationStatement: "MedicationStatement?patient=kang-04",
  MedicationRequest: "MedicationRequest?patient=kang-04",
  Condition: "Condition?patient=kang-04",
};

async function timed(url: string): Promise<{ ms: number; body: Bundle }> {
  const t0 = performance.now();
  const body = (await (await fetch(url)).json()) as Bundle;
  return { ms: performance.now() - t0, body };
}

const median = (xs: number[]): string =>
  xs.length === 0 ? "-" : ([...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0).toFixed(1);

console.log(unindexed ? "unindexed MemoryRepository" : "patient-indexed repository");
for (const [name, search] of Object.entries(searches)) {
  const first: number[] = [];
  const next: number[] = [];
  let entries = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const page = await timed(`${server.url}/${search}`);
    first.push(page.ms);
    entries = page.body.entry?.length ?? 0;
    const nextUrl = page.body.link?.find((l) => l.relation === "next")?.url;
    if (nextUrl !== undefined) next.push((await timed(nextUrl)).ms);
  }
  console.log(
    `${name}: ${String(entries)} entries, median ${median(first)} ms, next page ${median(next)} ms`,
  );
}
await server.close();
