/**
 * The embedded PostgreSQL cluster: PGlite (PostgreSQL compiled to
 * WebAssembly) served over a loopback TCP port by the postmaster's process,
 * so that workers of every runtime connect to it as to a real server. Both
 * packages are optional dependencies, loaded only when a worker needs a
 * connection.
 *
 * @module
 */

import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from "../../src/database_cluster.ts";

interface PGliteModule {
  PGlite: { create(options: { dataDir?: string }): Promise<{ close(): Promise<void> }> };
}
interface SocketModule {
  PGLiteSocketServer: new (options: { db: unknown; host: string; port: number; maxConnections: number }) => {
    start(): Promise<void>;
    stop(): Promise<void>;
    getServerConn(): string;
  };
}

/** Connections the embedded server multiplexes; PGlite runs one statement at a time and keeps each transaction to its connection. */
const MAX_CONNECTIONS = 100;

/**
 * Start PGlite and serve it on an ephemeral loopback port.
 *
 * @example
 * ```ts
 * import { startEmbeddedDatabase } from "./embedded_database.ts";
 * const cluster = await startEmbeddedDatabase({ dataDir: "./pgdata" });
 * console.log(cluster.url); // postgres://postgres@127.0.0.1:41633/postgres
 * await cluster.stop();
 * ```
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  let pglite: PGliteModule;
  let socket: SocketModule;
  try {
    pglite = (await import("@electric-sql/pglite")) as unknown as PGliteModule;
    socket = (await import("@electric-sql/pglite-socket")) as unknown as SocketModule;
  } catch (error) {
    throw new Error(
      `the embedded database needs the optional dependencies @electric-sql/pglite and @electric-sql/pglite-socket, which could not be loaded (${error instanceof Error ? error.message : String(error)}); install them, or give the postmaster a PostgreSQL URL`,
    );
  }
  const db = await pglite.PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  const server = new socket.PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: MAX_CONNECTIONS });
  await server.start();
  return {
    // PGlite's one role is its superuser, postgres, and it asks for no password.
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
