/** Fresh, isolated stores of both kinds for database tests (`describe.each(storeKinds)`). */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openStore, type Store } from "../../src/store/index.js";

function pgBaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      "TEST_DATABASE_URL is not set: list this test file in INTEGRATION (vitest.config.ts), whose global set-up starts PostgreSQL",
    );
  return url;
}

/** A new empty PostgreSQL database; returns its URL. */
export async function freshPostgresDatabase(): Promise<string> {
  const base = pgBaseUrl();
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export function freshSqlitePath(): string {
  return join(mkdtempSync(join(tmpdir(), "ln-cds-store-")), "ln-cds.sqlite");
}

export const storeKinds: ReadonlyArray<{ name: "sqlite" | "postgres"; open(): Promise<Store> }> = [
  { name: "sqlite", open: () => openStore({ SQLITE_PATH: freshSqlitePath() }) },
  {
    name: "postgres",
    open: async () => openStore({ DATABASE_URL: await freshPostgresDatabase(), SQLITE_PATH: "" }),
  },
];

/** Two stores (as two replicas would have) on one new PostgreSQL database. */
export async function openTwoStoresOnOnePostgres(): Promise<[Store, Store]> {
  const url = await freshPostgresDatabase();
  const a = await openStore({ DATABASE_URL: url, SQLITE_PATH: "" });
  const b = await openStore({ DATABASE_URL: url, SQLITE_PATH: "" });
  return [a, b];
}
