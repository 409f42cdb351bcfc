/**
 * Where one cluster's state lives: a connection, the schema that holds the
 * tables, and the cluster's name. Every function of `src/cluster/` takes
 * one, so a host keeps a single value for the whole module and tests can
 * give each case a schema or a cluster of its own.
 *
 * The row readers here exist because the `postgres` package returns
 * `bigint` columns as strings and `int` columns as numbers: the store reads
 * every column through one of them, so a changed driver setting fails
 * loudly instead of turning fences into strings.
 *
 * @module
 */

import { quoteIdent } from "../quote_ident.ts";

/**
 * The connection the store runs its statements on: the part of
 * `DatabaseClient` (src/worker/port.ts, which the runtimes implement over
 * the `postgres` package) that it uses, declared here because the shared
 * base may not import src/worker/. Any `DatabaseClient` is one.
 *
 * @example
 * ```ts
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const rows = await client.begin((tx) => tx.query("select $1::int + 1 as n", [41]));
 * ```
 */
export interface ClusterClient {
  /** Run one statement with parameters `$1`, `$2`, …; resolves with its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Run `body` in a transaction on this connection: COMMIT when it resolves, ROLLBACK when it throws. */
  begin<T>(body: (transaction: ClusterClient) => Promise<T>): Promise<T>;
}

/** The schema the cluster tables live in unless a host is given another. */
export const DEFAULT_CLUSTER_SCHEMA = "bgworker_cluster";

/**
 * A cluster's address in the database: the connection every statement goes
 * through, the schema (quoted once, here) and the cluster's name.
 *
 * @example
 * ```ts
 * import { clusterStore, type ClusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const store: ClusterStore = clusterStore(client, "default");
 * store.schema; // '"bgworker_cluster"'
 * ```
 */
export interface ClusterStore {
  /** The connection; a store never opens or closes one. */
  readonly client: ClusterClient;
  /** The schema, already quoted as an identifier, for the statements' text. */
  readonly schema: string;
  /** The cluster's name: hosts with the same database, schema and name form one cluster. */
  readonly name: string;
}

/**
 * Make a {@link ClusterStore}.
 *
 * @example
 * ```ts
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const store = clusterStore(client, "payments", "my_schema");
 * ```
 */
export function clusterStore(client: ClusterClient, name: string, schema = DEFAULT_CLUSTER_SCHEMA): ClusterStore {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`cluster name must be a non-empty string; got ${JSON.stringify(name)}`);
  }
  if (typeof schema !== "string" || schema === "") {
    throw new TypeError(`cluster schema must be a non-empty string; got ${JSON.stringify(schema)}`);
  }
  return Object.freeze({ client, schema: quoteIdent(schema), name });
}

/**
 * Lock the cluster's row for the rest of the transaction and take `count`
 * fencing tokens from its counter; resolves with the last one taken (the
 * first is `last - count + 1`), or null when no host ever joined the
 * cluster. Placement, failover, join and leave all start with this, so they
 * run one at a time per cluster: each sees the others' committed rows.
 *
 * It must be the first statement of the transaction that reads the
 * workers: in READ COMMITTED each later statement takes a new snapshot,
 * which then includes everything committed before the lock was granted.
 *
 * @example
 * ```ts
 * import { clusterStore, lockCluster } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * await client.begin(async (tx) => {
 *   const fence = await lockCluster(clusterStore(tx, "default"), 1);
 * });
 * ```
 */
export async function lockCluster(tx: ClusterStore, count: number): Promise<bigint | null> {
  const rows = await tx.client.query(
    `update ${tx.schema}.clusters set fence = fence + $2::bigint where name = $1 returning fence::text as fence`,
    [tx.name, count],
  );
  return rows.length === 0 ? null : readBigint(rows[0]!, "fence");
}

/**
 * The same store on a transaction's connection: what the functions that
 * run several statements pass to their helpers.
 *
 * @example
 * ```ts
 * import { clusterStore, inTransaction } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const store = clusterStore(client, "default");
 * await client.begin(async (tx) => inTransaction(store, tx).client.query("select 1"));
 * ```
 */
export function inTransaction(store: ClusterStore, tx: ClusterClient): ClusterStore {
  return { client: tx, schema: store.schema, name: store.name };
}

/**
 * Read an `int` column (the `postgres` package gives a number).
 *
 * @example
 * ```ts
 * import { readInt } from "./store.ts";
 * readInt({ slot: 3 }, "slot"); // 3
 * ```
 */
export function readInt(row: Record<string, unknown>, column: string): number {
  const value = row[column];
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`cluster store: column ${column} is not an integer: ${String(value)}`);
  }
  return value;
}

/**
 * Read an `int` column that may be null.
 *
 * @example
 * ```ts
 * import { readIntOrNull } from "./store.ts";
 * readIntOrNull({ pid: null }, "pid"); // null
 * ```
 */
export function readIntOrNull(row: Record<string, unknown>, column: string): number | null {
  return row[column] === null ? null : readInt(row, column);
}

/**
 * Read a `bigint` column selected as `::text`, so no driver setting can
 * round it through a double.
 *
 * @example
 * ```ts
 * import { readBigint } from "./store.ts";
 * readBigint({ fence: "9007199254740993" }, "fence"); // 9007199254740993n
 * ```
 */
export function readBigint(row: Record<string, unknown>, column: string): bigint {
  const value = row[column];
  if (typeof value !== "string" || !/^-?[0-9]+$/.test(value)) {
    throw new TypeError(`cluster store: column ${column} is not a bigint as text: ${String(value)}`);
  }
  return BigInt(value);
}

/**
 * Read a `text` column that may be null.
 *
 * @example
 * ```ts
 * import { readTextOrNull } from "./store.ts";
 * readTextOrNull({ host_id: "a" }, "host_id"); // "a"
 * ```
 */
export function readTextOrNull(row: Record<string, unknown>, column: string): string | null {
  const value = row[column];
  if (value === null) return null;
  if (typeof value !== "string") throw new TypeError(`cluster store: column ${column} is not text: ${String(value)}`);
  return value;
}

/**
 * Read a `text` column.
 *
 * @example
 * ```ts
 * import { readText } from "./store.ts";
 * readText({ state: "live" }, "state"); // "live"
 * ```
 */
export function readText(row: Record<string, unknown>, column: string): string {
  const value = readTextOrNull(row, column);
  if (value === null) throw new TypeError(`cluster store: column ${column} is null`);
  return value;
}
