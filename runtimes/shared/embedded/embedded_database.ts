/**
 * The embedded PostgreSQL cluster: a real PostgreSQL 18 server (see
 * postgres_server.ts), started by the postmaster on first need.
 *
 * The process adapter does not import this: each runtime's `mod.ts` hands
 * `startEmbeddedDatabase` to it as a capability.
 *
 * @module
 */

import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from "../../../src/adapter.ts";
import { startPostgresServer } from "./postgres_server.ts";

/**
 * Start the embedded server on `options.dataDir` (kept) or a temporary
 * directory (removed at stop).
 *
 * @example
 * ```ts
 * import { startEmbeddedDatabase } from "./embedded_database.ts";
 * const cluster = await startEmbeddedDatabase({ dataDir: "./pgdata" });
 * console.log(cluster.url); // postgres://postgres@/postgres?host=%2Ftmp%2Fbgworker-pg-4242-Ab12Cd&port=41633
 * await cluster.stop();
 * ```
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const server = await startPostgresServer(options);
  return { url: server.url, tcpUrl: server.tcpUrl, account: server.account, stop: () => server.stop() };
}
