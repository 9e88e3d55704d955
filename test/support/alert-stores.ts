/**
 * Stores for the alert tests: a SQLite file and, when a PostgreSQL is available
 * (TEST_DATABASE_URL), a fresh database per store. Used until/alongside the shared store
 * helpers; every store gets the alert tables through the same migration function.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { createAlertTables } from "../../src/alerts/schema.js";
import type { AlertStore } from "../../src/alerts/store.js";
import type { AlertTables } from "../../src/alerts/schema.js";

export type AlertStoreKind = "sqlite" | "postgres";

export const alertStoreKinds: AlertStoreKind[] = ["sqlite", "postgres"];

export interface OpenedAlertStore extends AlertStore {
  /** Where a second process/replica can open the same database. */
  location: string;
  close(): Promise<void>;
}

/** A new empty database of the given kind with the alert tables. */
export async function freshAlertDatabase(kind: AlertStoreKind): Promise<string> {
  if (kind === "sqlite") {
    return join(mkdtempSync(join(tmpdir(), "ln-cds-alerts-")), "alerts.sqlite");
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("TEST_DATABASE_URL unset");
  const name = `alerts_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function openAlertStore(
  kind: AlertStoreKind,
  location?: string,
): Promise<OpenedAlertStore> {
  const where = location ?? (await freshAlertDatabase(kind));
  const db =
    kind === "sqlite"
      ? new Kysely<AlertTables>({
          dialect: new SqliteDialect({
            database: () => {
              const file = new Database(where);
              file.pragma("journal_mode = WAL");
              file.pragma("busy_timeout = 5000");
              return Promise.resolve(file);
            },
          }),
        })
      : new Kysely<AlertTables>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: where, max: 5 }) }),
        });
  await createAlertTables(db as Kysely<unknown>);
  return { db, dialect: kind, location: where, close: () => db.destroy() };
}

export interface ReceivedCall {
  at: number;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real local webhook receiver; `answer` decides the status of each call. */
export interface Receiver {
  url: string;
  origin: string;
  calls: ReceivedCall[];
  answer: number;
  /** Delay before answering, to keep requests in flight. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startReceiver(answer = 200): Promise<Receiver> {
  const calls: ReceivedCall[] = [];
  const receiver: Receiver = {
    url: "",
    origin: "",
    calls,
    answer,
    delayMs: 0,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (receiver.delayMs > 0) {
        setTimeout(reply, receiver.delayMs);
        return;
      }
      reply();
    });
    const reply = (): void => {
      const status = receiver.answer;
      calls.push({
        at: Date.now(),
        status,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.statusCode = status;
      res.end();
    };
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  receiver.origin = `http://127.0.0.1:${port}`;
  receiver.url = `${receiver.origin}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return receiver;
}

/** Poll until `check` is true or the time runs out. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
