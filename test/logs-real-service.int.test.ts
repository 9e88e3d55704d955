/**
 * What reaches the logs of a real, authenticated invocation: the real
 * iguratimod-safety service, CDS_AUTH=on with an ES384 JWT checked against a local JWKS server
 * and a SQLite replay store, patient data in the prefetch and, on the second path, fetched from
 * the demo FHIR server with the EHR's access token. Every log line at debug level is captured:
 * none may hold the JWT, the access token, the patient's name or an Observation value.
 */
import type { FhirResource, Observation, Patient } from "fhir/r4.js";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patientPrefetch, studyPatientResources } from "../fixtures/index.js";
import { defaultServices } from "../cds-services/index.js";
import { testConfig } from "../src/config.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import { openStore, type Store } from "../src/store/index.js";
import { rememberJti } from "../src/store/jti.js";
import { useSigningIssuer } from "./support/jwks-server.js";
import { cdsClaims, signCdsToken } from "./support/keys.js";
import { captureLogs, protocolApp } from "./support/protocol-app.js";
import { freshSqlitePath } from "./support/stores.js";

const NOW = new Date();
const BASE = "https://cds.hospital.example";
const ISS = "https://ehr.hospital.example";
const PATH = "/cds-services/iguratimod-safety";
const ACCESS_TOKEN = "ehr-access-token-7f3c9a1b5d2e4f60";
const GIVEN = "Zyxwvut";
const FAMILY = "Qwertyuiop";
const HB_VALUE = 31.4159; // a hemoglobin no log line could hold by accident

/** Patient 4's chart, renamed, with a distinctive latest hemoglobin. */
function chart(): FhirResource[] {
  const rs = studyPatientResources("kang-04", NOW);
  const out = rs.map((r) =>
    r.resourceType === "Patient"
      ? ({ ...r, name: [{ given: [GIVEN], family: FAMILY }] } as Patient)
      : r,
  );
  const hb = rs.find(
    (r): r is Observation => r.resourceType === "Observation" && r.id === "kang-04-hb-w12",
  );
  if (!hb) throw new Error("fixture changed: no kang-04-hb-w12");
  out.push({
    ...hb,
    id: "kang-04-hb-latest",
    effectiveDateTime: new Date(NOW.getTime() - 3_600_000).toISOString(),
    valueQuantity: { ...hb.valueQuantity, value: HB_VALUE },
  });
  return out;
}

const issuer = useSigningIssuer();
let fhir: RunningFhirServer;
let store: Store;

beforeAll(async () => {
  fhir = await startFhirServer({
    bundles: [
      {
        resourceType: "Bundle",
        type: "collection",
        entry: chart().map((resource) => ({ resource })),
      },
    ],
  });
  store = await openStore({ SQLITE_PATH: freshSqlitePath() });
}, 60_000);

afterAll(async () => {
  await Promise.all([fhir.close(), store.close()]);
});

function app() {
  const env = {
    CDS_AUTH: "on",
    PUBLIC_BASE_URL: BASE,
    CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: issuer.jwks.url() } }),
    FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
    PREFETCH_BUDGET_MS: "20000",
    FHIR_TIMEOUT_MS: "20000",
    LOG_LEVEL: "trace",
  };
  const config = testConfig(env);
  const auth = captureLogs();
  const cdsAuth = createCdsAuthCore({
    config,
    logger: auth.logger,
    rememberJti: (iss, jti, expiresAt) => rememberJti(store, iss, jti, expiresAt),
  });
  const built = protocolApp({ env, services: defaultServices(config), cdsAuth, clock: () => NOW });
  return { app: built.app, logText: () => built.logs.text() + auth.logs.text() };
}

/** A patient-view request for kang-04 with the EHR's access token, with or without prefetch. */
function hookBody(hookInstance: string, prefetch?: Record<string, unknown>) {
  return {
    hook: "patient-view",
    hookInstance,
    fhirServer: fhir.url,
    fhirAuthorization: {
      access_token: ACCESS_TOKEN,
      token_type: "Bearer",
      expires_in: 300,
      scope: "patient/*.read",
      subject: "ln-cds",
    },
    context: { userId: "Practitioner/u1", patientId: "kang-04" },
    ...(prefetch ? { prefetch } : {}),
  };
}

function expectNothingSecret(text: string, jwt: string): void {
  expect(text).not.toContain(jwt);
  expect(text).not.toContain(jwt.split(".")[1] ?? jwt); // not even the claims part
  expect(text).not.toContain(ACCESS_TOKEN);
  expect(text).not.toContain(GIVEN);
  expect(text).not.toContain(FAMILY);
  expect(text).not.toContain(String(HB_VALUE));
  expect(text).not.toContain("3.1415"); // nor a rounded form of it
}

describe("logs of an authenticated invocation of a real clinical service", () => {
  it("with full prefetch: the card shows the patient's value, the logs show none of it", async () => {
    const { app: a, logText } = app();
    const jwt = await signCdsToken(issuer.key, cdsClaims(ISS, BASE + PATH));
    const res = await request(a)
      .post(PATH)
      .set("Authorization", `Bearer ${jwt}`)
      .send(hookBody("5f1b9a3e-2c47-4d8a-9e61-7b0c3d2e1f40", patientPrefetch(chart())));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cards = (res.body as { cards: { summary: string }[] }).cards;
    // The card shows it at a lab's precision (docs/clinical-rules.md#9-cards): an integer.
    expect(cards[0]?.summary).toContain(`Hb ${String(Math.round(HB_VALUE))} g/L`);
    const text = logText();
    // The request was logged (so the check below is not vacuous) …
    expect(text).toContain('"msg":"request"');
    expect(text).toContain('"serviceId":"iguratimod-safety"');
    expect(text).toContain('"cards":1');
    // … without a secret or a piece of the chart.
    expectNothingSecret(text, jwt);
  }, 30_000);

  it("without prefetch: the service reads the FHIR server with the EHR's token, and logs neither", async () => {
    const { app: a, logText } = app();
    const jwt = await signCdsToken(issuer.key, cdsClaims(ISS, BASE + PATH));
    fhir.stats.reset();
    const res = await request(a)
      .post(PATH)
      .set("Authorization", `Bearer ${jwt}`)
      .send(hookBody("6a2c0b4f-3d58-4e9b-8f72-8c1d4e3f2a51"));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body as { cards: { summary: string }[] }).cards[0]?.summary).toContain(
      `Hb ${String(Math.round(HB_VALUE))} g/L`,
    );
    expect(fhir.stats.requests).toBeGreaterThan(0);
    const text = logText();
    expect(text).toContain('"msg":"request"');
    expect(text).toContain('"serviceId":"iguratimod-safety"');
    expectNothingSecret(text, jwt);
  }, 30_000);
});
