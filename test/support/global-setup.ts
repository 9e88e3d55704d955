/**
 * Global test set-up: UTC, and a throw-away PostgreSQL cluster for the database tests when
 * TEST_DATABASE_URL is not given. Workers inherit TEST_DATABASE_URL from this process's
 * environment. Without PostgreSQL binaries the run fails: a skipped database test is not a pass.
 */
import { startPostgresCluster } from "./postgres-cluster.js";

export default async function setup(): Promise<() => void> {
  process.env.TZ = "UTC";
  if (process.env.TEST_DATABASE_URL) return () => undefined;
  // Every test file of a run shares this server, so it takes more connections than the default.
  const cluster = await startPostgresCluster({ maxConnections: 300, stopMode: "immediate" });
  process.env.TEST_DATABASE_URL = cluster.url;
  return () => {
    cluster.remove();
  };
}
