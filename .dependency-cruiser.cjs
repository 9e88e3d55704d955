/**
 * Which way imports may point (checked by `npm run lint`, through scripts/depcruise.mjs).
 *
 * The clinical core stays pure and readable alone; the CDS Hooks runtime knows nothing of
 * HTTP; a service reaches its siblings only through cds-services/shared/; the store does not
 * borrow the HTTP layer's types. Tests may reach across (they wire real parts together), so
 * the rules look at production files only.
 */
const TESTS = "(\\.test\\.ts$|^src/clinical/test-facts\\.ts$)";
/** The demo: its fixtures, its FHIR server (Medplum) and the page code that lists its patients. */
const DEMO = "^(fixtures/|src/fhir-server/|src/pages/demo-patients\\.ts$|node_modules/@medplum/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "clinical-is-pure",
      comment:
        "src/clinical imports nothing outside itself but its unit library (@lhncbc/ucum-lhc): " +
        "no FHIR JSON, no I/O, no node built-ins, no other folder of the project.",
      severity: "error",
      from: { path: "^src/clinical/", pathNot: TESTS },
      to: { pathNot: ["^src/clinical/", "^node_modules/@lhncbc/ucum-lhc/"] },
    },
    {
      name: "hooks-not-http",
      comment:
        "src/hooks is the CDS Hooks runtime; src/http adapts it to express, never the reverse.",
      severity: "error",
      from: { path: "^src/hooks/", pathNot: TESTS },
      to: { path: "^src/http/" },
    },
    {
      name: "no-sibling-service",
      comment:
        "A service in cds-services/<id>/ never imports another service; parts two services " +
        "share live in cds-services/shared/.",
      severity: "error",
      from: { path: "^cds-services/([^/]+)/", pathNot: [TESTS, "^cds-services/shared/"] },
      to: { path: "^cds-services/[^/]+/", pathNot: ["^cds-services/$1/", "^cds-services/shared/"] },
    },
    {
      name: "shared-not-a-service",
      comment: "cds-services/shared/ serves the services; it never imports one of them.",
      severity: "error",
      from: { path: "^cds-services/shared/", pathNot: TESTS },
      to: { path: "^cds-services/[^/]+/", pathNot: "^cds-services/shared/" },
    },
    {
      name: "serve-loads-no-demo",
      comment:
        "Only the demo loads the demo: src/main.ts imports it with import() inside `demo` and " +
        "`fhir-server`, so `serve` never loads the fixtures or the Medplum router.",
      severity: "error",
      from: { path: "^(src|cds-services)/", pathNot: [TESTS, DEMO] },
      to: { path: DEMO, dependencyTypesNot: ["dynamic-import"] },
    },
    {
      name: "store-not-http",
      comment: "src/store takes nothing from src/http, not even types.",
      severity: "error",
      from: { path: "^src/store/", pathNot: TESTS },
      to: { path: "^src/http/" },
    },
  ],
  options: {
    // Type-only imports count: `import type` from src/http is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^dist/" },
  },
};
