/**
 * The JWT replay store: a `jti` is accepted once per issuer. Kept in the database so every
 * replica shares it; rows live until the token could no longer be accepted, then are purged.
 */
import type { CompiledQuery } from "kysely";
import type { Store } from "./index.js";

type ReplayRow = { iss: string; jti: string; expires_at: string };
const COLUMNS = ["iss", "jti", "expires_at"] as const;

/**
 * The replay-row insert, built and compiled by Kysely once per store (it runs for every
 * authenticated request), with the position of each column's parameter, found by compiling it
 * with a marker in each.
 */
interface ReplayInsert {
  readonly query: CompiledQuery<{ jti: string }>;
  readonly positions: readonly (keyof ReplayRow)[];
}
const replayInserts = new WeakMap<Store, ReplayInsert>();

function replayInsertOf(store: Store): ReplayInsert {
  const known = replayInserts.get(store);
  if (known !== undefined) return known;
  const markers = Object.fromEntries(
    COLUMNS.map((c) => [c, `\u0000ln-cds-replay-${c}\u0000`]),
  ) as ReplayRow;
  const query = store.db
    .insertInto("jwt_replay")
    .values(markers)
    .onConflict((oc) => oc.columns(["iss", "jti"]).doNothing())
    .returning("jti")
    .compile();
  const positions = query.parameters.map((p) => {
    const column = COLUMNS.find((c) => markers[c] === p);
    if (column === undefined) throw new Error("the replay insert has a parameter of its own");
    return column;
  });
  const insert = { query, positions };
  replayInserts.set(store, insert);
  return insert;
}

/** True the first time (iss, jti) is seen; false on a replay. Atomic across replicas. */
export async function rememberJti(
  store: Store,
  iss: string,
  jti: string,
  expiresAt: Date,
): Promise<boolean> {
  const { query, positions } = replayInsertOf(store);
  const row: ReplayRow = { iss, jti, expires_at: expiresAt.toISOString() };
  const inserted = await store.db.executeQuery({
    ...query,
    parameters: positions.map((c) => row[c]),
  });
  return inserted.rows.length === 1;
}

/** Deletes replay rows whose tokens have expired; returns how many. */
export async function purgeExpiredJti(store: Store, now: Date): Promise<number> {
  const result = await store.db
    .deleteFrom("jwt_replay")
    .where("expires_at", "<", now.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
