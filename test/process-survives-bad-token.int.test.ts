/**
 * One request must never take the process down (docs/cds-contract.md#requests-and-errors). A real
 * `ln-cds serve` process gets patient-view calls whose `fhirAuthorization.access_token` holds a
 * character that cannot go into an HTTP header (a trailing newline from a buggy EHR, CR, DEL,
 * a control character, a character above U+00FF). Each is refused with 400 naming the field, and
 * after FHIR_TIMEOUT_MS has passed the process is still alive and answers a good call.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allFixtureBundles, patientBundle } from "../fixtures/index.js";
import { startFhirServer, type RunningFhirServer } from "../src/fhir-server/index.js";
import { buildService, startService, type ServiceProcess } from "./support/service-process.js";

const FHIR_TIMEOUT_MS = 2000;
const BAD_TOKENS: Record<string, string> = {
  "trailing newline": "ehr-token-123\n",
  "carriage return": "ehr\rtoken",
  DEL: "ehr\u007ftoken",
  "NUL control character": "ehr\u0000token",
  "character above U+00FF": "ehr\u0100token",
};

let build: ReturnType<typeof buildService> | undefined;
let fhir: RunningFhirServer | undefined;
let service: ServiceProcess | undefined;

beforeAll(async () => {
  build = buildService();
  fhir = await startFhirServer({
    bundles: [patientBundle(allFixtureBundles(new Date()), "kang-04")],
  });
  const started = await startService(build.file, {
    CDS_AUTH: "off",
    LOG_LEVEL: "info",
    SQLITE_PATH: join(mkdtempSync(join(tmpdir(), "ln-cds-crash-")), "ln-cds.sqlite"),
    FHIR_SERVER_ALLOWLIST: new URL(fhir.url).origin,
    FHIR_TIMEOUT_MS: String(FHIR_TIMEOUT_MS),
    PREFETCH_BUDGET_MS: "20000",
  });
  service = started;
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await fhir?.close();
  build?.remove();
});

function running(): ServiceProcess {
  if (!service) throw new Error("the service did not start");
  return service;
}

function patientView(accessToken: string) {
  if (!fhir) throw new Error("the FHIR server did not start");
  return fetch(`${running().url}/cds-services/iguratimod-safety`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      hook: "patient-view",
      hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
      fhirServer: fhir.url,
      fhirAuthorization: {
        access_token: accessToken,
        token_type: "Bearer",
        expires_in: 300,
        scope: "patient/*.read",
        subject: "ln-cds",
      },
      context: { userId: "Practitioner/demo", patientId: "kang-04" },
    }),
  });
}

describe("a bad fhirAuthorization.access_token against a real process", () => {
  it("is refused with 400 naming the field, and the process lives on past FHIR_TIMEOUT_MS", async () => {
    for (const [what, token] of Object.entries(BAD_TOKENS)) {
      const res = await patientView(token);
      const body = (await res.json()) as {
        resourceType: string;
        issue: { expression?: string[] }[];
      };
      expect(res.status, what).toBe(400);
      expect(body.resourceType).toBe("OperationOutcome");
      expect(body.issue.flatMap((i) => i.expression ?? [])).toContain(
        "fhirAuthorization.access_token",
      );
    }
    // The old fault fired FHIR_TIMEOUT_MS after the call: wait well past it.
    await new Promise((r) => setTimeout(r, FHIR_TIMEOUT_MS + 1000));
    expect(running().exited(), running().output.join("\n")).toBeUndefined();
    const health = await fetch(`${running().url}/healthz`);
    expect(health.status).toBe(200);
    const good = await patientView("ehr-token-123");
    expect(good.status, await good.clone().text()).toBe(200);
    const cards = ((await good.json()) as { cards: { summary: string }[] }).cards;
    expect(cards.some((c) => c.summary.startsWith("Anaemia"))).toBe(true);
  }, 60_000);
});
