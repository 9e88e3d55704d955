/**
 * The database: SQLite (better-sqlite3) by default, PostgreSQL when DATABASE_URL is set, both
 * through Kysely with the same migrations, run at open.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  sql,
  type SqliteDatabase as KyselySqliteDatabase,
  type SqliteStatement,
} from "kysely";
import { Migrator, type MigrationProvider } from "kysely";
import pg from "pg";
import type { Logger } from "../log.js";
import { migrations } from "./migrations.js";
import type { Database } from "./schema.js";

export type { Database } from "./schema.js";
export type Dialect = "sqlite" | "postgres";

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreConfig {
  readonly DATABASE_URL?: string | undefined;
  /** Default 30 s (see config.ts). */
  readonly PG_STATEMENT_TIMEOUT_MS?: number;
  readonly SQLITE_PATH: string;
  /** Default 200 ms (see config.ts). */
  readonly SQLITE_BUSY_TIMEOUT_MS?: number;
}

export interface StoreOptions {
  /** Where a lost database connection is reported (it never ends the process). */
  readonly logger?: Logger;
}

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...migrations }),
};

export class StoreError extends Error {
  override name = "StoreError";
}

/** Wait for another process's SQLite lock while opening (migrations), before serving. */
const SQLITE_OPEN_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 200;

function fileIdentity(path: string): { dev: number; ino: number } | undefined {
  try {
    const { dev, ino } = statSync(path);
    return { dev, ino };
  } catch {
    return undefined;
  }
}

/** Distinct SQL texts whose prepared statements are kept (the service runs a few dozen). */
const SQLITE_STATEMENT_CACHE_SIZE = 256;

/**
 * The SQLite file as Kysely sees it, with each SQL text prepared once. Kysely asks
 * better-sqlite3 to prepare (compile) every query it runs, including the replay-store write of
 * every authenticated request; a prepared statement can be run again with new parameters, and
 * SQLite re-prepares it by itself after a schema change. Kysely runs one query at a time on its
 * one SQLite connection, so a statement is never in use twice at once. Least recently used texts
 * are dropped beyond SQLITE_STATEMENT_CACHE_SIZE (queries with IN lists have many texts).
 */
function preparingOnce(file: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => file.close(),
    prepare(text: string): SqliteStatement {
      let statement = statements.get(text);
      if (statement !== undefined) {
        statements.delete(text);
      } else {
        statement = file.prepare(text);
        if (statements.size >= SQLITE_STATEMENT_CACHE_SIZE) {
          const oldest = statements.keys().next();
          if (oldest.done !== true) statements.delete(oldest.value);
        }
      }
      statements.set(text, statement);
      return statement;
    },
  };
}

/** How long a new PostgreSQL connection may take before the caller gets an error. */
const PG_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * The PostgreSQL pool, with every connection's 'error' event heard. A connection that dies (a
 * database restart, `pg_terminate_backend`, a failover) emits 'error' on the pool when it was
 * idle and on its client when it was checked out; an event emitter's unheard 'error' ends the
 * process. The pool drops a broken client and opens a new one at the next checkout, so hearing
 * the event is all it takes to reconnect; queries during the outage fail (and `/readyz` says 503).
 *
 * Every session has a statement timeout: a statement stuck behind another session's lock (an
 * operator's open transaction, say) is cancelled by the database and fails, instead of holding
 * one of the pool's ten connections for ever; a stuck alert write is already given up after
 * ALERT_WRITE_WAIT_MS and spooled, but its connection stayed taken.
 */
function postgresPool(
  connectionString: string,
  statementTimeoutMs: number,
  logger: Logger | undefined,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    statement_timeout: statementTimeoutMs,
  });
  const lost = (err: Error): void => {
    logger?.warn(
      { event: "database-connection-lost", error: (err as { code?: unknown }).code ?? err.name },
      "a PostgreSQL connection was lost; the pool reconnects on next use",
    );
  };
  pool.on("error", lost);
  pool.on("connect", (client) => {
    client.on("error", lost);
  });
  return pool;
}

/** Opens the database and brings its schema up to date. */
export async function openStore(cfg: StoreConfig, options: StoreOptions = {}): Promise<Store> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let sqliteFile: SqliteDatabase.Database | undefined;
  if (cfg.DATABASE_URL !== undefined) {
    dialect = "postgres";
    db = new Kysely<Database>({
      dialect: new PostgresDialect({
        pool: postgresPool(
          cfg.DATABASE_URL,
          cfg.PG_STATEMENT_TIMEOUT_MS ?? DEFAULT_PG_STATEMENT_TIMEOUT_MS,
          options.logger,
        ),
      }),
    });
  } else {
    dialect = "sqlite";
    if (cfg.SQLITE_PATH !== ":memory:") mkdirSync(dirname(cfg.SQLITE_PATH), { recursive: true });
    sqliteFile = new SqliteDatabase(cfg.SQLITE_PATH);
    // WAL lets readers run beside the single writer; busy_timeout lets two processes share a
    // file. Opening (migrations) may wait a while for another process; see below for serving.
    sqliteFile.pragma("journal_mode = WAL");
    sqliteFile.pragma(`busy_timeout = ${String(SQLITE_OPEN_BUSY_TIMEOUT_MS)}`);
    db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: preparingOnce(sqliteFile) }),
    });
  }
  // Kysely's migrator takes a lock (an advisory lock on PostgreSQL), so replicas may open at once.
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new StoreError(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : "unknown error"}`,
    );
  }
  if (sqliteFile === undefined) {
    return {
      db,
      dialect,
      async ping() {
        await sql`select 1`.execute(db);
      },
      async close() {
        await db.destroy();
      },
    };
  }
  // better-sqlite3 is synchronous: while it waits for a lock held by another process, nothing
  // else in this process runs (health checks, other patients' hooks). The wait is bounded by
  // SQLITE_BUSY_TIMEOUT_MS; a write that cannot get the lock in time fails (an alert write then
  // says "Safety team not notified" on its card) and /readyz answers 503.
  sqliteFile.pragma(
    `busy_timeout = ${String(cfg.SQLITE_BUSY_TIMEOUT_MS ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS)}`,
  );
  const watch = cfg.SQLITE_PATH === ":memory:" ? undefined : fileIdentity(cfg.SQLITE_PATH);
  let reportedMissing = false;
  return {
    db,
    dialect,
    async ping() {
      // The file this connection writes to must still be the one at SQLITE_PATH: deleted or
      // replaced, every write from now on goes to an unlinked file and is lost at restart.
      if (watch !== undefined) {
        const now = fileIdentity(cfg.SQLITE_PATH);
        if (now === undefined || now.dev !== watch.dev || now.ino !== watch.ino) {
          const message = `the SQLite file ${cfg.SQLITE_PATH} was ${now === undefined ? "deleted" : "replaced"} while the service runs: writes from now on are lost at restart`;
          if (!reportedMissing) {
            reportedMissing = true;
            options.logger?.fatal({ event: "database-file-missing" }, message);
          }
          throw new StoreError(message);
        }
      }
      // Can we write? Take the write lock and give it back (bounded by busy_timeout).
      await db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        await sql`rollback`.execute(conn);
      });
    },
    async close() {
      await db.destroy();
    },
  };
}
