/**
 * Stores for the alert tests, opened the way the service opens its own (`openStore`, every
 * migration), on a fresh SQLite file or a fresh PostgreSQL database (test/support/stores.ts).
 * `location` lets a second process or replica open the same database.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Kysely } from "kysely";
import type { AlertStore } from "../../src/alerts/store.js";
import type { AlertTables } from "../../src/alerts/schema.js";
import { openStore } from "../../src/store/index.js";
import { freshPostgresDatabase, freshSqlitePath } from "./stores.js";

export type AlertStoreKind = "sqlite" | "postgres";

export const alertStoreKinds: AlertStoreKind[] = ["sqlite", "postgres"];

export interface OpenedAlertStore extends AlertStore {
  /** Where a second process/replica can open the same database. */
  location: string;
  close(): Promise<void>;
}

/** A new empty database of the given kind: a SQLite path or a PostgreSQL URL. */
export async function freshAlertDatabase(kind: AlertStoreKind): Promise<string> {
  return kind === "sqlite" ? freshSqlitePath() : freshPostgresDatabase();
}

export async function openAlertStore(
  kind: AlertStoreKind,
  location?: string,
): Promise<OpenedAlertStore> {
  const where = location ?? (await freshAlertDatabase(kind));
  const store = await openStore(
    kind === "sqlite" ? { SQLITE_PATH: where } : { DATABASE_URL: where, SQLITE_PATH: "" },
  );
  return {
    db: store.db as unknown as Kysely<AlertTables>,
    dialect: kind,
    location: where,
    close: () => store.close(),
  };
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
