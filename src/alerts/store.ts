import type { Kysely } from "kysely";
import type { AlertTables } from "./schema.js";

/**
 * The part of the store the alert code needs. The application store's `db` holds these tables
 * (its migration record includes `createAlertTables`); `alertStore` narrows it to them.
 */
export interface AlertStore {
  readonly db: Kysely<AlertTables>;
  readonly dialect: "sqlite" | "postgres";
}

export function alertStore(store: { db: unknown; dialect: "sqlite" | "postgres" }): AlertStore {
  return { db: store.db as Kysely<AlertTables>, dialect: store.dialect };
}
