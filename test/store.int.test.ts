import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/store/index.js";
import { saveFeedback } from "../src/store/feedback.js";
import { purgeExpiredJti, rememberJti } from "../src/store/jti.js";
import type { FeedbackRecord } from "../src/store/feedback.js";
import {
  freshPostgresDatabase,
  freshSqlitePath,
  openTwoStoresOnOnePostgres,
  storeKinds,
} from "./support/stores.js";

const opened: Store[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
async function track(p: Promise<Store>): Promise<Store> {
  const s = await p;
  opened.push(s);
  return s;
}

const feedback: FeedbackRecord = {
  serviceId: "iguratimod-safety",
  card: "9368d37b-283f-44a0-93ea-547cebab93ed",
  outcome: "overridden",
  outcomeTimestamp: "2026-11-24T10:00:00Z",
  acceptedSuggestions: [],
  overrideReason: { code: "reason-1", system: "urn:ln-cds:override", display: "Seen" },
  receivedAt: new Date("2026-11-24T10:00:01Z"),
};

describe.each(storeKinds)("store on $name", (kind) => {
  const { name } = kind;
  const open = () => kind.open();
  it("answers ping and reports its dialect", async () => {
    const store = await track(open());
    await expect(store.ping()).resolves.toBeUndefined();
    expect(store.dialect).toBe(name);
  });

  it("stores the same feedback posted twice once", async () => {
    const store = await track(open());
    expect(await saveFeedback(store, [feedback])).toEqual({ inserted: 1, duplicates: 0 });
    expect(await saveFeedback(store, [feedback])).toEqual({ inserted: 0, duplicates: 1 });
    const later = { ...feedback, outcomeTimestamp: "2026-11-24T10:05:00Z" };
    expect(await saveFeedback(store, [later])).toEqual({ inserted: 1, duplicates: 0 });
    const rows = await store.db.selectFrom("feedback").selectAll().execute();
    expect(rows).toHaveLength(2);
    expect(JSON.parse(rows[0]!.override_reason!)).toEqual(feedback.overrideReason);
  });

  it("stores 9,000 feedback items of one request (more than one statement's parameters allow)", async () => {
    const store = await track(open());
    const many = Array.from({ length: 9000 }, (_, i) => ({
      ...feedback,
      card: `card-${String(i)}`,
    }));
    expect(await saveFeedback(store, many)).toEqual({ inserted: 9000, duplicates: 0 });
    expect(await saveFeedback(store, many.slice(0, 4096))).toEqual({
      inserted: 0,
      duplicates: 4096,
    });
    const count = await store.db
      .selectFrom("feedback")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(9000);
  });

  it("accepts a jti once and purges it after expiry", async () => {
    const store = await track(open());
    const exp = new Date("2026-11-24T10:05:00Z");
    expect(await rememberJti(store, "https://ehr.example", "abc", exp)).toBe(true);
    expect(await rememberJti(store, "https://ehr.example", "abc", exp)).toBe(false);
    // The same jti from another issuer is another token.
    expect(await rememberJti(store, "https://other.example", "abc", exp)).toBe(true);
    expect(await purgeExpiredJti(store, new Date("2026-11-24T10:04:59Z"))).toBe(0);
    expect(await purgeExpiredJti(store, new Date("2026-11-24T10:05:01Z"))).toBe(2);
  });
});

describe("migrations", () => {
  it("run once: opening the same SQLite file twice keeps the data", async () => {
    const path = freshSqlitePath();
    const a = await openStore({ SQLITE_PATH: path });
    await saveFeedback(a, [feedback]);
    await a.close();
    const b = await track(openStore({ SQLITE_PATH: path }));
    expect(await b.db.selectFrom("feedback").select("card").execute()).toHaveLength(1);
  });

  it("run once: reopening the same PostgreSQL database keeps the data", async () => {
    const url = await freshPostgresDatabase();
    const a = await openStore({ DATABASE_URL: url, SQLITE_PATH: "" });
    await saveFeedback(a, [feedback]);
    await a.close();
    const b = await track(openStore({ DATABASE_URL: url, SQLITE_PATH: "" }));
    expect(await b.db.selectFrom("feedback").select("card").execute()).toHaveLength(1);
  });

  it("a PostgreSQL statement stuck behind another session's lock is cancelled, and frees its connection", async () => {
    const url = await freshPostgresDatabase();
    const store = await track(
      openStore({ DATABASE_URL: url, SQLITE_PATH: "", PG_STATEMENT_TIMEOUT_MS: 300 }),
    );
    // An operator's session holds the feedback table in an open transaction.
    const operator = new pg.Client({ connectionString: url });
    await operator.connect();
    try {
      await operator.query("BEGIN");
      await operator.query("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE");
      const stuck = await saveFeedback(store, [feedback]).catch((e: unknown) => e);
      expect((stuck as { code?: unknown }).code).toBe("57014"); // query_canceled
      // Every one of the pool's connections comes back: more writes than connections fail the
      // same way instead of queueing for ever behind the stuck ones.
      const more = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          saveFeedback(store, [
            { ...feedback, outcomeTimestamp: `2026-11-24T10:00:${String(10 + i)}Z` },
          ]),
        ),
      );
      expect(
        more.map((r) => (r.status === "rejected" ? (r.reason as { code?: unknown }).code : "kept")),
      ).toEqual(Array.from({ length: 12 }, () => "57014"));
      await operator.query("ROLLBACK");
    } finally {
      await operator.end();
    }
    await saveFeedback(store, [feedback]);
    expect(await store.db.selectFrom("feedback").select("card").execute()).toHaveLength(1);
  });

  it("let two replicas open one PostgreSQL database at once, and share the replay store", async () => {
    const [a, b] = await openTwoStoresOnOnePostgres();
    opened.push(a, b);
    const exp = new Date(Date.now() + 60_000);
    const results = await Promise.all([
      rememberJti(a, "https://ehr.example", "same-jti", exp),
      rememberJti(b, "https://ehr.example", "same-jti", exp),
    ]);
    expect(results.filter((r) => r)).toHaveLength(1);
  });
});
