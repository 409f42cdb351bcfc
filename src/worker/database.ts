/**
 * Database connections inside a worker: PostgreSQL's
 * `BackgroundWorkerInitializeConnection`, for workers registered with
 * `BGWORKER_BACKEND_DATABASE_CONNECTION`, with its rules and messages: one
 * call per worker, the flag required, and no LISTEN from a background
 * process.
 *
 * @module
 */

import { BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_BYPASS_ALLOWCONN, BGWORKER_BYPASS_ROLELOGINCHECK } from "../constants.ts";
import { BackgroundWorkerError } from "../errors.ts";
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
  /** Run one statement with parameters `$1`, `$2`, …; resolves with its rows. LISTEN and UNLISTEN are refused. */
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
 * await db.transaction((tx) => tx.query("update counted set n = n + 1"));
 * ```
 */
export type WorkerTransaction = Omit<WorkerConnection, "transaction">;

const LISTEN = /^\s*(LISTEN|UNLISTEN)\b/i;

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
 * const [{ n }] = await db.query<{ n: number }>("select $1::int as n", [1]);
 * ```
 */
export async function backgroundWorkerInitializeConnection(dbname: string | null, username: string | null, flags = 0): Promise<WorkerConnection> {
  const port = requirePort("backgroundWorkerInitializeConnection");
  const state = workerState();
  const entry = state.entry;
  if (!entry) throw new Error("backgroundWorkerInitializeConnection: this worker has not been started yet");
  const fail = (message: string, field: string) => new BackgroundWorkerError(message, { worker: entry.bgw_name, field, code: "object_not_in_prerequisite_state" });
  if (!(entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) throw fail("database connection requirement not indicated during registration", "bgw_flags");
  if (state.connectionInitialized) throw fail("invalid processing mode in background worker", "backgroundWorkerInitializeConnection");
  if (dbname !== null && (typeof dbname !== "string" || dbname === "")) throw new TypeError("backgroundWorkerInitializeConnection: dbname must be a database name or null");
  if (username !== null && (typeof username !== "string" || username === "")) throw new TypeError("backgroundWorkerInitializeConnection: username must be a role name or null");
  if (!Number.isInteger(flags) || (flags & ~(BGWORKER_BYPASS_ALLOWCONN | BGWORKER_BYPASS_ROLELOGINCHECK)) !== 0) {
    throw new TypeError("backgroundWorkerInitializeConnection: flags must be a combination of BGWORKER_BYPASS_ALLOWCONN and BGWORKER_BYPASS_ROLELOGINCHECK");
  }
  state.connectionInitialized = true;
  const cluster = state.database;
  if (!cluster || "unavailable" in cluster) throw new Error(`backgroundWorkerInitializeConnection: ${cluster ? cluster.unavailable : "no database cluster was given to this worker"}`);
  const client = await port.connectDatabase(cluster.url, {
    ...(dbname === null ? {} : { database: dbname }),
    ...(username === null ? {} : { user: username }),
  });
  return connection(client);
}

function connection(client: DatabaseClient): WorkerConnection {
  const transactional = (inner: DatabaseClient): WorkerTransaction => ({
    query: <T>(sql: string, params: readonly unknown[] = []) => {
      if (LISTEN.test(sql)) return Promise.reject(new Error(`cannot execute ${LISTEN.exec(sql)![1]!.toUpperCase()} within a background process`));
      return inner.query(sql, params) as Promise<T[]>;
    },
    // pg_notify is NOTIFY with parameters: queued by the transaction, sent at its commit.
    asyncNotify: (channel, payload = "") => inner.query("select pg_notify($1, $2)", [channel, payload]).then(() => {}),
  });
  return {
    ...transactional(client),
    transaction: (body) => client.begin((inner) => body(transactional(inner))),
  };
}
