/**
 * The JWT replay store: a `jti` is accepted once per issuer. Kept in the database so every
 * replica shares it; rows live until the token could no longer be accepted, then are purged.
 */
import type { Store } from "./index.js";

/** True the first time (iss, jti) is seen; false on a replay. Atomic across replicas. */
export async function rememberJti(
  store: Store,
  iss: string,
  jti: string,
  expiresAt: Date,
): Promise<boolean> {
  const inserted = await store.db
    .insertInto("jwt_replay")
    .values({ iss, jti, expires_at: expiresAt.toISOString() })
    .onConflict((oc) => oc.columns(["iss", "jti"]).doNothing())
    .returning("jti")
    .execute();
  return inserted.length === 1;
}

/** Deletes replay rows whose tokens have expired; returns how many. */
export async function purgeExpiredJti(store: Store, now: Date): Promise<number> {
  const result = await store.db
    .deleteFrom("jwt_replay")
    .where("expires_at", "<", now.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
