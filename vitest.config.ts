import { defineConfig } from "vitest/config";

/**
 * Two projects. `unit` is the inner loop (`npm run test:unit`, well under 30 s on an idle
 * machine): the clinical rules, the services, HTTP through supertest, SQLite, the demo FHIR
 * server in process. `integration` holds what needs PostgreSQL (its global set-up starts a
 * throw-away cluster), a child process, Chromium, or a long run. `npm test` runs both.
 *
 * A new test file lands in `unit` unless it is listed below; list it when it needs one of those.
 */
export const INTEGRATION = [
  // PostgreSQL (and SQLite beside it)
  "test/alert-acknowledgements.int.test.ts",
  "test/alert-write-stall.int.test.ts",
  "test/alerts-api.int.test.ts",
  "test/alerts.int.test.ts",
  "test/auth-replicas.int.test.ts",
  "test/http-feedback.int.test.ts",
  "test/monitor.int.test.ts",
  "test/patient-view-alerts.int.test.ts",
  "test/patient-view-v2.int.test.ts",
  "test/store.int.test.ts",
  // child processes (the built service, a crash, tsc on the Docker stage), outages, Chromium
  "test/alert-spool-outage.int.test.ts",
  "test/alert-spool-owner.int.test.ts",
  "test/crash-alerts.int.test.ts",
  "test/demo-browser.int.test.ts",
  "test/pages.browser.int.test.ts",
  "test/dockerfile.int.test.ts",
  "test/postgres-outage.int.test.ts",
  "test/process-survives-bad-token.int.test.ts",
  "test/sqlite-faults.int.test.ts",
  // long runs in process: the cohort table end to end, fuzzing, every search of the demo server
  "test/services-e2e.int.test.ts",
  "test/card-text.int.test.ts",
  "test/fuzz-hook-request.int.test.ts",
  "test/fhir-server.int.test.ts",
];

const ALL_TESTS = [
  "src/**/*.test.ts",
  "cds-services/**/*.test.ts",
  "fixtures/**/*.test.ts",
  "test/**/*.test.ts",
];

export default defineConfig({
  test: {
    environment: "node",
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // One module cache per worker instead of one per file: the unit files share no state
          // that outlives a file, and reloading the same modules 60 times took half the time.
          isolate: false,
          include: ALL_TESTS,
          exclude: INTEGRATION,
          globalSetup: ["test/support/global-setup-unit.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: INTEGRATION,
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
