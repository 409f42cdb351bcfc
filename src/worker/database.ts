/**
 * Database connections inside a worker: PostgreSQL's
 * `BackgroundWorkerInitializeConnection`, for workers registered with
 * `BGWORKER_BACKEND_DATABASE_CONNECTION`, with its rules and messages: one
 * call per worker, the flag required, no LISTEN from a background process,
 * and `BGWORKER_INTERRUPTIBLE`.
 *
 * @module
 */

import {
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_BYPASS_ALLOWCONN,
  BGWORKER_BYPASS_ROLELOGINCHECK,
  BGWORKER_INTERRUPTIBLE,
} from "../constants.ts";
import { BackgroundWorkerError } from "../errors.ts";
import { quoteIdent } from "../quote_ident.ts";
import { watchForExclusiveCommands } from "./interruptible.ts";
import type { DatabaseClient } from "./port.ts";
import { requirePort, workerState } from "./state.ts";

/**
 * A worker's connection: queries with parameters, transactions, and
 * `asyncNotify`, PostgreSQL's `Async_Notify`, delivered at commit.
 *
 * @example
 * ```ts
 * import { backgroundWorkerInitializeConnection } from "bgworker/worker";
 * const db = await backgroundWorkerInitializeConnection("postgres", null);
 * await db.transaction(async (tx) => {
 *   await tx.query("insert into jobs(done) values ($1)", [true]);
 *   await tx.asyncNotify("jobs", "one more"); // sent when the transaction commits
 * });
 * ```
 */
export interface WorkerConnection {
  /** Run one statement with parameters `$1`, `$2`, …; resolves with its rows. LISTEN is refused (UNLISTEN is not), as in PostgreSQL. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Run `body` in a transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(body: (transaction: WorkerTransaction) => Promise<T>): Promise<T>;
  /** `NOTIFY channel, payload`: at once outside a transaction, at commit inside one (never if it rolls back). */
  asyncNotify(channel: string, payload?: string): Promise<void>;
}

/**
 * The connection inside `transaction()`: the same calls, in that transaction.
 *
 * @example
 * ```ts
 * import type { WorkerConnection } from "bgworker/worker";
 * declare const db: WorkerConnection;
 * await db.transaction((tx) => tx.query("update counted set n = n + 1"));
 * ```
 */
export type WorkerTransaction = Omit<WorkerConnection, "transaction">;

const LISTEN = /^\s*LISTEN\b/i;

/**
 * Connect this worker to a database of the cluster, as `username`: once per
 * worker, and only with `BGWORKER_BACKEND_DATABASE_CONNECTION`. A null
 * `dbname` connects to no particular database (the cluster's maintenance
 * database, for its shared catalogs); a null `username` connects as the
 * cluster's superuser (the postmaster's URL user).
 *
 * @example
 * ```ts
 * import { backgroundWorkerInitializeConnection } from "bgworker/worker";
 * const db = await backgroundWorkerInitializeConnection("postgres", null);
 * const [row] = await db.query<{ n: number }>("select $1::int as n", [1]); // row?.n === 1
 * ```
 */
export async function backgroundWorkerInitializeConnection(
  dbname: string | null,
  username: string | null,
  flags = 0,
): Promise<WorkerConnection> {
  const port = requirePort("backgroundWorkerInitializeConnection");
  const state = workerState();
  const entry = state.entry;
  if (!entry) throw new Error("backgroundWorkerInitializeConnection: this worker has not been started yet");
  const fail = (message: string, field: string) =>
    new BackgroundWorkerError(message, { worker: entry.bgw_name, field, code: "object_not_in_prerequisite_state" });
  if (!(entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    throw fail("database connection requirement not indicated during registration", "bgw_flags");
  }
  if (state.connectionInitialized) {
    throw fail("invalid processing mode in background worker", "backgroundWorkerInitializeConnection");
  }
  if (dbname !== null && (typeof dbname !== "string" || dbname === "")) {
    throw new TypeError("backgroundWorkerInitializeConnection: dbname must be a database name or null");
  }
  if (username !== null && (typeof username !== "string" || username === "")) {
    throw new TypeError("backgroundWorkerInitializeConnection: username must be a role name or null");
  }
  if (!Number.isInteger(flags) || (flags & ~(BGWORKER_BYPASS_ALLOWCONN | BGWORKER_BYPASS_ROLELOGINCHECK)) !== 0) {
    throw new TypeError(
      "backgroundWorkerInitializeConnection: flags must be a combination of BGWORKER_BYPASS_ALLOWCONN and BGWORKER_BYPASS_ROLELOGINCHECK",
    );
  }
  state.connectionInitialized = true;
  const cluster = state.database;
  if (!cluster || "unavailable" in cluster) {
    throw new Error(
      `backgroundWorkerInitializeConnection: ${
        cluster ? cluster.unavailable : "no database cluster was given to this worker"
      }`,
    );
  }
  return await connect(port, cluster, { dbname, username }, flags);
}

/**
 * The same, naming the database and the role by OID (PostgreSQL's
 * `BackgroundWorkerInitializeConnectionByOid`); `null` stands for
 * `InvalidOid`: no database, or the cluster's superuser.
 *
 * @example
 * ```ts
 * import { backgroundWorkerInitializeConnectionByOid } from "bgworker/worker";
 * const db = await backgroundWorkerInitializeConnectionByOid(16384, null);
 * ```
 */
export async function backgroundWorkerInitializeConnectionByOid(
  dboid: number | null,
  useroid: number | null,
  flags = 0,
): Promise<WorkerConnection> {
  for (const [name, value] of [["dboid", dboid], ["useroid", useroid]] as const) {
    if (value !== null && (!Number.isInteger(value) || value <= 0 || value > 0xffffffff)) {
      throw new TypeError(
        `backgroundWorkerInitializeConnectionByOid: ${name} must be an OID (a positive 32-bit integer) or null`,
      );
    }
  }
  const state = workerState();
  const cluster = state.database;
  // The names are what the server knows the objects by; resolve them first, then follow the by-name path and its rules.
  let names = { dbname: null as string | null, username: null as string | null };
  if (cluster && !("unavailable" in cluster) && !state.connectionInitialized && (dboid !== null || useroid !== null)) {
    const lookup = await requirePort("backgroundWorkerInitializeConnectionByOid").connectDatabase(cluster.url, {});
    try {
      const [row] = await lookup.query(
        "select (select datname from pg_database where oid = $1::oid) as dbname, (select rolname from pg_roles where oid = $2::oid) as username",
        [dboid ?? 0, useroid ?? 0],
      );
      if (dboid !== null && !row?.dbname) throw new Error(`database ${dboid} does not exist`);
      if (useroid !== null && !row?.username) throw new Error(`role with OID ${useroid} does not exist`);
      names = { dbname: (row!.dbname as string | null) ?? null, username: (row!.username as string | null) ?? null };
    } finally {
      await lookup.close();
    }
  }
  return backgroundWorkerInitializeConnection(names.dbname, names.username, flags);
}

/**
 * Check the database and the role as PostgreSQL's InitPostgres does, then
 * connect as the cluster's superuser and become the role: a background
 * worker does not authenticate, it is trusted to act as any role. The
 * server enforces everything else (privileges, templates, `datallowconn`).
 */
async function connect(
  port: ReturnType<typeof requirePort>,
  cluster: { url: string; embedded: boolean },
  { dbname, username }: { dbname: string | null; username: string | null },
  flags: number,
): Promise<WorkerConnection> {
  const { entry, handle } = workerState();
  const applicationName = entry!.bgw_name;
  const admin = await port.connectDatabase(cluster.url, { applicationName });
  let superuser: string;
  let client: DatabaseClient;
  let datid = 0;
  try {
    // Shared with every other worker's check, exclusive while one opens a database that refuses connections.
    if (cluster.embedded) await admin.query("select pg_advisory_lock_shared($1)", [ALLOWCONN_LOCK]);
    const [row] = await admin.query(
      "select current_user as superuser, d.oid::int8 as datid, d.datallowconn, r.rolcanlogin, d.datname is not null as db_exists, r.rolname is not null as role_exists " +
        "from (select 1) one left join pg_database d on d.datname = $1 left join pg_roles r on r.rolname = $2",
      [dbname ?? "", username ?? ""],
    );
    superuser = row!.superuser as string;
    let pastAllowConn = false;
    if (dbname !== null) {
      if (!row!.db_exists) throw new Error(`database "${dbname}" does not exist`);
      datid = Number(row!.datid);
      if (!row!.datallowconn) {
        if (!(flags & BGWORKER_BYPASS_ALLOWCONN)) {
          throw new Error(`database "${dbname}" is not currently accepting connections`);
        }
        if (!cluster.embedded) {
          throw new Error(
            `database "${dbname}" is not currently accepting connections, and BGWORKER_BYPASS_ALLOWCONN cannot be honoured: the server refuses the connection itself, and bgworker connects from outside it`,
          );
        }
        pastAllowConn = true;
      }
    }
    if (username !== null) {
      if (!row!.role_exists) throw new Error(`role "${username}" does not exist`);
      if (!row!.rolcanlogin && !(flags & BGWORKER_BYPASS_ROLELOGINCHECK)) {
        throw new Error(`role "${username}" is not permitted to log in`);
      }
    }
    const target = { ...(dbname === null ? {} : { database: dbname }), applicationName };
    client = pastAllowConn
      ? await connectPastAllowConn(port, admin, cluster.url, target)
      : await port.connectDatabase(cluster.url, target);
  } finally {
    await admin.close();
  }
  // A session of its own: the role and the limits of "no database" hold for the whole session.
  if (username !== null && username !== superuser) {
    await client.query(`set session authorization ${quoteIdent(username)}`);
  }
  if (dbname === null) {
    for (const setting of ["default_transaction_read_only = on", ...NO_SCHEMA]) await client.query(`set ${setting}`);
  }
  if ((entry!.bgw_flags & BGWORKER_INTERRUPTIBLE) && datid !== 0 && handle) {
    await watchForExclusiveCommands(port, cluster.url, datid, handle, applicationName);
  }
  return connection(client);
}

/** The advisory lock that orders the embedded cluster's checks of `datallowconn` and its bypass. */
const ALLOWCONN_LOCK = 0x6267_7701;

/**
 * `BGWORKER_BYPASS_ALLOWCONN` on the embedded server: PostgreSQL lets only
 * its own processes past `datallowconn = false`, so the database accepts
 * connections for the instant this one opens, then refuses them again. The
 * exclusive advisory lock keeps other workers' checks out of that instant.
 */
async function connectPastAllowConn(
  port: ReturnType<typeof requirePort>,
  admin: DatabaseClient,
  url: string,
  target: { database?: string; applicationName: string },
): Promise<DatabaseClient> {
  const database = quoteIdent(target.database!);
  await admin.query("select pg_advisory_unlock_shared($1)", [ALLOWCONN_LOCK]);
  await admin.query("select pg_advisory_lock($1)", [ALLOWCONN_LOCK]);
  try {
    await admin.query(`alter database ${database} allow_connections true`);
    try {
      return await port.connectDatabase(url, target);
    } finally {
      await admin.query(`alter database ${database} allow_connections false`);
    }
  } finally {
    await admin.query("select pg_advisory_unlock($1)", [ALLOWCONN_LOCK]);
  }
}

/**
 * A null dbname connects to no database: PostgreSQL then reads only its
 * shared catalogs. From outside the server the nearest is the maintenance
 * database, read-only, with no schema of its own on the search path.
 */
const NO_SCHEMA = ["search_path = ''"] as const;

/** The connection's calls. */
function connection(client: DatabaseClient): WorkerConnection {
  const transactional = (inner: DatabaseClient): WorkerTransaction => ({
    query: <T>(sql: string, params: readonly unknown[] = []) => {
      // PostgreSQL's utility.c refuses LISTEN in a background process; UNLISTEN is allowed.
      if (LISTEN.test(sql)) return Promise.reject(new Error("cannot execute LISTEN within a background process"));
      return inner.query(sql, params) as Promise<T[]>;
    },
    // pg_notify is NOTIFY with parameters: queued by the transaction, sent at its commit.
    asyncNotify: (channel, payload = "") => inner.query("select pg_notify($1, $2)", [channel, payload]).then(() => {}),
  });
  const transaction = <T>(body: (transaction: WorkerTransaction) => Promise<T>) =>
    client.begin((inner) => body(transactional(inner)));
  return { ...transactional(client), transaction };
}
