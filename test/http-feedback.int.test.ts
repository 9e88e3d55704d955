/**
 * Feedback over HTTP: the official examples are accepted (200), the fb-1..3 invariants refuse
 * with a 400 OperationOutcome, and the route hands the store one record per item.
 *
 * The store here records what it is given; "posted twice, stored once" belongs with the real
 * store (src/store, SQLite and PostgreSQL) and is added here when it lands (see report).
 */
import { readFileSync } from "node:fs";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../src/config.js";
import { createCdsAuthCore } from "../src/http/auth/index.js";
import type { FeedbackRecord } from "../src/store/feedback.js";
import { createLogger } from "../src/log.js";
import { openStore, type Store } from "../src/store/index.js";
import { rememberJti } from "../src/store/jti.js";
import { useSigningIssuer } from "./support/jwks-server.js";
import { cdsClaims, signCdsToken } from "./support/keys.js";
import { protocolApp } from "./support/protocol-app.js";
import { saveFeedback } from "../src/store/feedback.js";
import { freshSqlitePath, storeKinds } from "./support/stores.js";
import { TEST_SERVICE_ID } from "./support/test-service.js";

const PATH = `/cds-services/${TEST_SERVICE_ID}/feedback`;
const EXAMPLES = "test/cds-hooks-2.0-examples/";
const example = (file: string): unknown =>
  JSON.parse(readFileSync(EXAMPLES + file, "utf8")) as unknown;

function recordingApp() {
  const saved: FeedbackRecord[][] = [];
  const { app } = protocolApp({
    saveFeedback: (records) => {
      saved.push([...records]);
      return Promise.resolve();
    },
    clock: () => new Date("2026-01-15T10:00:00Z"),
  });
  return { app, saved };
}

describe("feedback", () => {
  it.each([
    "feedback-accepted-suggestion.json",
    "feedback-overridden-with-reason.json",
    "feedback-overridden-without-reason.json",
  ])(
    "accepts the official example %s with 200 and passes one record to the store",
    async (file) => {
      const { app, saved } = recordingApp();
      await request(app)
        .post(PATH)
        .send(example(file) as object)
        .expect(200);
      expect(saved).toHaveLength(1);
      expect(saved[0]).toHaveLength(1);
      expect(saved[0]?.[0]?.serviceId).toBe(TEST_SERVICE_ID);
    },
  );

  it("maps accepted suggestions, the override reason and the comment into the record", async () => {
    const { app, saved } = recordingApp();
    await request(app)
      .post(PATH)
      .send(example("feedback-overridden-with-reason.json") as object)
      .expect(200);
    expect(saved[0]?.[0]).toEqual({
      serviceId: TEST_SERVICE_ID,
      card: "9368d37b-283f-44a0-93ea-547cebab93ed",
      outcome: "overridden",
      outcomeTimestamp: "2020-12-11T00:00:00Z",
      acceptedSuggestions: [],
      overrideReason: {
        code: "d7ecf885",
        system: "https://example.com/cds-hooks/override-reason-system",
      },
      userComment: "A comment entered by the clinician.",
      receivedAt: new Date("2026-01-15T10:00:00Z"),
    });
    await request(app)
      .post(PATH)
      .send(example("feedback-accepted-suggestion.json") as object)
      .expect(200);
    expect(saved[1]?.[0]?.acceptedSuggestions).toEqual(["e56e1945-20b3-4393-8503-a1a20fd73152"]);
  });

  const item = {
    card: "f6b95768-b1c8-40dc-8385-bf3504b82ffb",
    outcomeTimestamp: "2020-12-11T00:00:00Z",
  };
  it.each([
    [
      "fb-1: accepted without acceptedSuggestions",
      { ...item, outcome: "accepted" },
      "feedback[0].acceptedSuggestions",
    ],
    [
      "fb-2: acceptedSuggestions on overridden",
      { ...item, outcome: "overridden", acceptedSuggestions: [{ id: "x" }] },
      "feedback[0].acceptedSuggestions",
    ],
    [
      "fb-3: overrideReason on accepted",
      {
        ...item,
        outcome: "accepted",
        acceptedSuggestions: [{ id: "x" }],
        overrideReason: { userComment: "c" },
      },
      "feedback[0].overrideReason",
    ],
    ["an unknown outcome", { ...item, outcome: "ignored" }, "feedback[0].outcome"],
    [
      "a missing card",
      { outcome: "overridden", outcomeTimestamp: item.outcomeTimestamp },
      "feedback[0].card",
    ],
    [
      "an outcomeTimestamp that is not a date-time",
      { ...item, outcome: "overridden", outcomeTimestamp: "today" },
      "feedback[0].outcomeTimestamp",
    ],
  ])("400 naming the field for %s", async (_name, fb, expression) => {
    const { app, saved } = recordingApp();
    const res = await request(app)
      .post(PATH)
      .send({ feedback: [fb] })
      .expect(400);
    const body = res.body as { resourceType: string; issue: { expression?: string[] }[] };
    expect(body.resourceType).toBe("OperationOutcome");
    expect(body.issue.flatMap((i) => i.expression ?? [])).toContain(expression);
    expect(saved).toEqual([]);
  });

  it("400 for an empty feedback list", async () => {
    const { app } = recordingApp();
    await request(app).post(PATH).send({ feedback: [] }).expect(400);
  });
});

describe("feedback with CDS_AUTH=on: the same CDS Hooks JWT as an invocation, its aud the feedback URL", () => {
  const BASE = "https://cds.hospital.example";
  const ISS = "https://ehr.hospital.example";
  const issuer = useSigningIssuer();
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ SQLITE_PATH: freshSqlitePath() });
  });
  afterAll(async () => {
    await store.close();
  });

  function securedApp() {
    const env = {
      CDS_AUTH: "on",
      PUBLIC_BASE_URL: BASE,
      CDS_ISSUERS: JSON.stringify({ [ISS]: { jwks_url: issuer.jwks.url() } }),
    };
    const saved: FeedbackRecord[][] = [];
    const { app } = protocolApp({
      env,
      saveFeedback: (records) => {
        saved.push([...records]);
        return Promise.resolve();
      },
      cdsAuth: createCdsAuthCore({
        config: testConfig(env),
        logger: createLogger("silent"),
        rememberJti: (iss, jti, expiresAt) => rememberJti(store, iss, jti, expiresAt),
      }),
    });
    return { app, saved };
  }
  const feedback = () => example("feedback-overridden-with-reason.json") as object;

  it("without a token, or with one for another endpoint: bare 401 and nothing stored", async () => {
    const { app, saved } = securedApp();
    const none = await request(app).post(PATH).send(feedback());
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe("Bearer");
    const invokeAud = await signCdsToken(
      issuer.key,
      cdsClaims(ISS, `${BASE}/cds-services/${TEST_SERVICE_ID}`),
    );
    const wrongAud = await request(app)
      .post(PATH)
      .set("Authorization", `Bearer ${invokeAud}`)
      .send(feedback());
    expect(wrongAud.status).toBe(401);
    expect(saved).toEqual([]);
  });

  it("with a token for the feedback URL: 200 and stored", async () => {
    const { app, saved } = securedApp();
    const jwt = await signCdsToken(issuer.key, cdsClaims(ISS, BASE + PATH));
    await request(app)
      .post(PATH)
      .set("Authorization", `Bearer ${jwt}`)
      .send(feedback())
      .expect(200);
    expect(saved).toHaveLength(1);
  });
});

describe.each(storeKinds)("feedback with 4,096 items on $name", (kind) => {
  it("answers 200 and stores every item (the database's parameter limit is not the client's problem)", async () => {
    const store = await kind.open();
    try {
      const { app } = protocolApp({
        store,
        saveFeedback: (records) => saveFeedback(store, records),
      });
      const items = Array.from({ length: 4096 }, (_, i) => ({
        card: `c-${String(i)}`,
        outcome: "overridden",
        outcomeTimestamp: "2026-01-15T10:00:00Z",
      }));
      await request(app).post(PATH).send({ feedback: items }).expect(200);
      const count = await store.db
        .selectFrom("feedback")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(4096);
    } finally {
      await store.close();
    }
  });
});
