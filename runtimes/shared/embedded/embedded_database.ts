/**
 * The embedded PostgreSQL cluster: PGlite (PostgreSQL compiled to
 * WebAssembly) served over loopback TCP ports by the postmaster's process,
 * so that workers of every runtime connect to it as to a real server. Both
 * packages are optional dependencies, loaded only when a worker needs a
 * connection.
 *
 * One PGlite runs one database in one session, so the cluster runs one
 * PGlite per database: the main one, whose catalogs are the cluster's
 * (pg_database, pg_roles), and one for each other database a worker
 * connects to, started on first need and opened in that database.
 *
 * The process adapter does not import this: each runtime's `mod.ts` hands
 * `startEmbeddedDatabase` to it as a capability, so that a real PostgreSQL
 * server can take PGlite's place without touching the adapter.
 *
 * @module
 */

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from "../../../src/adapter.ts";
import { quoteIdent } from "../../../src/quote_ident.ts";
import type { DatabaseClient } from "../../../src/worker/port.ts";
import { connectDatabase } from "../database_client.ts";
import { sharedSession } from "./pglite_session.ts";
import { errorText } from "../../../src/errors.ts";

interface PGliteInstance {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
}
interface PGliteModule {
  PGlite: { create(options: { dataDir?: string; database?: string }): Promise<PGliteInstance> };
}
interface SocketServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  getServerConn(): string;
}
interface SocketModule {
  PGLiteSocketServer: new (
    options: { db: unknown; host: string; port: number; maxConnections: number },
  ) => SocketServer;
}

/** Connections each embedded server multiplexes; PGlite runs one statement at a time and keeps each transaction to its connection. */
const MAX_CONNECTIONS = 100;
/** The main PGlite's database: PGlite's default. */
const MAIN_DATABASE = "postgres";
/** PGlite's one superuser. */
const SUPERUSER = "postgres";
/** Where other databases live inside a kept data directory; PostgreSQL ignores directories it does not know there. */
const OTHER_DATABASES = "bgworker_databases";

interface Served {
  db: PGliteInstance;
  server: SocketServer;
  url: string;
  /**
   * The cluster's own connection to this server. It goes through the
   * server's queue like the workers' connections do: a direct PGlite query
   * would land in the middle of a worker's transaction or batch.
   */
  admin: DatabaseClient;
}

/**
 * Start the main PGlite and serve it on an ephemeral loopback port; other
 * databases start when first asked for through `urlFor`.
 *
 * @example
 * ```ts
 * import { startEmbeddedDatabase } from "./embedded_database.ts";
 * const cluster = await startEmbeddedDatabase({ dataDir: "./pgdata" });
 * console.log(cluster.url); // postgres://postgres@127.0.0.1:41633/postgres
 * console.log(await cluster.urlFor("mydb", "myrole")); // postgres://postgres@127.0.0.1:41701/mydb
 * await cluster.stop();
 * ```
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const { pglite, socket } = await loadPackages();
  const serve = async (db: PGliteInstance, database: string): Promise<Served> => {
    const server = new socket.PGLiteSocketServer({
      db: sharedSession(db),
      host: "127.0.0.1",
      port: 0,
      maxConnections: MAX_CONNECTIONS,
    });
    await server.start();
    // PGlite asks for no password.
    const url = `postgres://${SUPERUSER}@${server.getServerConn()}/${encodeURIComponent(database)}`;
    return { db, server, url, admin: await connectDatabase(url, {}) };
  };
  const main = await serve(
    await pglite.PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {}),
    MAIN_DATABASE,
  );
  // Without a kept directory, other databases live in a temporary one: PGlite opens a given database only from files.
  let scratch: string | null = null;
  const othersRoot = () =>
    options.dataDir
      ? join(options.dataDir, OTHER_DATABASES)
      : (scratch ??= mkdtempSync(join(tmpdir(), "bgworker-pglite-")));
  const others = new Map<string, Promise<Served>>();

  const startOther = async (dbname: string): Promise<Served> => {
    const dir = join(othersRoot(), encodeURIComponent(dbname).replaceAll(".", "%2E"));
    mkdirSync(dir, { recursive: true });
    // A new directory holds PGlite's default databases: create this one, then reopen the files in it (about 0.2 s).
    const first = await pglite.PGlite.create({ dataDir: dir });
    const exists = (await first.query("select 1 from pg_database where datname = $1", [dbname])).rows.length > 0;
    if (!exists) await first.exec(`create database ${quoteIdent(dbname)}`);
    await first.close();
    return serve(await pglite.PGlite.create({ dataDir: dir, database: dbname }), dbname);
  };

  return {
    url: main.url,
    async urlFor(dbname, role) {
      if (dbname === MAIN_DATABASE) return main.url;
      let other = others.get(dbname);
      if (!other) others.set(dbname, other = startOther(dbname));
      const served = await other;
      if (role !== null && role !== SUPERUSER) await mirrorRole(main.admin, served.admin, role);
      return served.url;
    },
    async stop() {
      const all = [
        main,
        ...(await Promise.allSettled(others.values())).flatMap((s) => s.status === "fulfilled" ? [s.value] : []),
      ];
      for (const { server, db, admin } of all) {
        await admin.close();
        await server.stop();
        await db.close();
      }
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Roles are the main database's (pg_roles is a shared catalog in
 * PostgreSQL); another database's PGlite gets a role of the same name and
 * superuser bit before a worker acts as it there. Logging in is checked
 * against the main one, so the copy never logs in.
 */
async function mirrorRole(main: DatabaseClient, other: DatabaseClient, role: string): Promise<void> {
  const [source] = await main.query("select rolsuper from pg_roles where rolname = $1", [role]);
  if (!source) return;
  const [copy] = await other.query("select rolsuper from pg_roles where rolname = $1", [role]);
  const attributes = source.rolsuper ? "nologin superuser" : "nologin nosuperuser";
  try {
    await other.query(
      copy ? `alter role ${quoteIdent(role)} ${attributes}` : `create role ${quoteIdent(role)} ${attributes}`,
    );
  } catch (error) {
    // Two workers becoming the same new role at once: the other one made it.
    if ((error as { code?: string }).code !== "42710") throw error;
  }
}

async function loadPackages(): Promise<{ pglite: PGliteModule; socket: SocketModule }> {
  try {
    return {
      pglite: (await import("@electric-sql/pglite")) as unknown as PGliteModule,
      socket: (await import("@electric-sql/pglite-socket")) as unknown as SocketModule,
    };
  } catch (error) {
    throw new Error(
      `the embedded database needs the optional dependencies @electric-sql/pglite and @electric-sql/pglite-socket, which could not be loaded (${
        errorText(error)
      }); install them, or give the postmaster a PostgreSQL URL`,
    );
  }
}
