/**
 * A throw-away SQLite database for a bench section, in WAL mode as the service runs it
 * (src/store/index.ts); the caller applies the migrations it needs and removes `dir`.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { AlertTables } from "../src/alerts/schema.js";

export function benchSqlite(dir: string): Kysely<AlertTables> {
  return new Kysely<AlertTables>({
    dialect: new SqliteDialect({
      database: () => {
        const file = new Database(join(dir, "bench.sqlite"));
        file.pragma("journal_mode = WAL");
        return Promise.resolve(file);
      },
    }),
  });
}
