/**
 * A replayed JWT is refused across replicas: two app instances (createApp, real auth middleware)
 * share one database, and a token accepted by one is refused by the other (docs/cds-contract.md#authentication: jti unseen,
 * replay store in the database). Run on one PostgreSQL database and on one SQLite file.
 */
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import { createLogger } from "../src/log.js";
import { testConfig } from "../src/config.js";
import { openStore, type Store } from "../src/store/index.js";
import { purgeExpiredJti, rememberJti } from "../src/store/jti.js";
import { protocolApp } from "./support/protocol-app.js";
import { useSigningIssuer } from "./support/jwks-server.js";
import { cdsClaims, signCdsToken } from "./support/keys.js";
import { freshSqlitePath, openTwoStoresOnOnePostgres } from "./support/stores.js";
import { TEST_SERVICE_ID, testService } from "./support/test-service.js";

const BASE = "https://cds.hospital.example";
const PATH = `/cds-services/${TEST_SERVICE_ID}`;
const ISS = "https://ehr.hospital.example";

const issuer = useSigningIssuer();

function replica(store: Store) {
  const env = {
    CDS_AUTH: "on",
    PUBLIC_BASE_URL: BASE,
    CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: issuer.jwks.url() } }),
  };
  const { app } = protocolApp({
    env,
    store,
    services: [testService({ requiredPrefetch: [] })],
    clock: () => new Date(),
    cdsAuth: createCdsAuthCore({
      config: testConfig(env),
      logger: createLogger("silent"),
      rememberJti: (iss, jti, exp) => rememberJti(store, iss, jti, exp),
      purgeExpiredJti: (now) => purgeExpiredJti(store, now),
    }),
  });
  return app;
}

const body = {
  hook: "patient-view",
  hookInstance: "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
  context: { userId: "Practitioner/u1", patientId: "p1" },
};

async function twoReplicasRefuseAReplay(a: Store, b: Store): Promise<void> {
  const first = replica(a);
  const second = replica(b);
  const token = await signCdsToken(issuer.key, cdsClaims(ISS, BASE + PATH));
  const ok = await request(first).post(PATH).set("Authorization", `Bearer ${token}`).send(body);
  expect(ok.status).toBe(200);
  const replayed = await request(second)
    .post(PATH)
    .set("Authorization", `Bearer ${token}`)
    .send(body);
  expect(replayed.status).toBe(401);
  expect(replayed.headers["www-authenticate"]).toBe("Bearer");
  // A fresh token (new jti) is still accepted by the second replica.
  const fresh = await signCdsToken(issuer.key, cdsClaims(ISS, BASE + PATH));
  const again = await request(second).post(PATH).set("Authorization", `Bearer ${fresh}`).send(body);
  expect(again.status).toBe(200);
}

describe("jti replay across two app instances sharing one database", () => {
  it("refuses the replay on PostgreSQL", async () => {
    const [a, b] = await openTwoStoresOnOnePostgres();
    try {
      await twoReplicasRefuseAReplay(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("refuses the replay on one SQLite file", async () => {
    const path = freshSqlitePath();
    const a = await openStore({ SQLITE_PATH: path });
    const b = await openStore({ SQLITE_PATH: path });
    try {
      await twoReplicasRefuseAReplay(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
