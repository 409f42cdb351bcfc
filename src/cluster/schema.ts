/**
 * The cluster's tables, created and migrated by the hosts themselves: there
 * is no installer, so the first host of a new cluster creates the schema
 * and a host of a newer version adds what it needs.
 *
 * Many hosts start at once (a Kubernetes deployment scaled from 0 to 10),
 * and `CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent twin:
 * both see no schema, and the second fails on the catalog's unique index.
 * So the whole migration runs in one transaction that first takes a
 * transaction-scoped advisory lock named after the schema; the others wait
 * for it, then find the versions applied and do nothing. DDL is
 * transactional in PostgreSQL, so a host that dies half-way leaves nothing.
 *
 * Versions only ever get added; a host never runs on a schema newer than
 * it knows (it could misread columns it has never heard of).
 *
 * @module
 */

import { quoteIdent } from "../quote_ident.ts";
import { type ClusterClient, DEFAULT_CLUSTER_SCHEMA, readInt } from "./store.ts";

/**
 * One version of the schema: the statements that take it from the version
 * before, given the quoted schema name.
 *
 * @example
 * ```ts
 * import type { ClusterMigration } from "./schema.ts";
 * const add: ClusterMigration = {
 *   version: 2,
 *   name: "host labels",
 *   statements: (s) => [`alter table ${s}.hosts add column labels jsonb`],
 * };
 * ```
 */
export interface ClusterMigration {
  /** 1, 2, 3, …: applied in order, each once. */
  readonly version: number;
  /** What it does, recorded beside the version. */
  readonly name: string;
  /** Its statements, one each (the extended protocol takes one statement per query). */
  readonly statements: (schema: string) => readonly string[];
}

/**
 * Every version of the cluster schema, oldest first.
 *
 * - `clusters`: one row per cluster, the lock every placement takes and the
 *   counter of fencing tokens (host incarnations share it).
 * - `hosts`: one row per host id, with its lease on the database's clock.
 * - `workers`: one row per cluster slot; a stopped row is a free slot whose
 *   `generation` the next placement there raises, so old handles read as
 *   stopped, as PostgreSQL's reused slots do.
 *
 * @example
 * ```ts
 * import { CLUSTER_MIGRATIONS } from "./schema.ts";
 * const latest = CLUSTER_MIGRATIONS.at(-1)!.version;
 * ```
 */
export const CLUSTER_MIGRATIONS: readonly ClusterMigration[] = [
  {
    version: 1,
    name: "clusters, hosts and workers",
    statements: (s) => [
      `create table ${s}.clusters (
        name text primary key,
        fence bigint not null default 0,
        created_at timestamptz not null default now()
      )`,
      `create table ${s}.hosts (
        cluster text not null references ${s}.clusters (name) on delete cascade,
        host_id text not null,
        incarnation bigint not null,
        max_workers int not null check (max_workers >= 0),
        lease_ms int not null check (lease_ms > 0),
        state text not null check (state in ('live', 'dead', 'left')),
        joined_at timestamptz not null,
        lease_until timestamptz not null,
        ended_at timestamptz,
        primary key (cluster, host_id)
      )`,
      `create index hosts_live on ${s}.hosts (cluster, lease_until) where state = 'live'`,
      `create table ${s}.workers (
        cluster text not null references ${s}.clusters (name) on delete cascade,
        slot int not null check (slot >= 0),
        generation int not null check (generation > 0),
        fence bigint not null,
        entry text not null,
        bgw_name text not null,
        restart_time int not null,
        state text not null check (state in ('pending', 'started', 'waiting', 'stopped')),
        host_id text,
        pid int,
        exit_code int,
        terminate boolean not null default false,
        not_before timestamptz,
        placed_at timestamptz not null,
        changed_at timestamptz not null,
        primary key (cluster, slot),
        check (state <> 'started' or (host_id is not null and pid is not null))
      )`,
      `create index workers_by_host on ${s}.workers (cluster, host_id) where state <> 'stopped'`,
      `create index workers_free on ${s}.workers (cluster, slot) where state = 'stopped'`,
      `create index workers_unassigned on ${s}.workers (cluster, not_before) where host_id is null and state = 'waiting'`,
    ],
  },
  {
    version: 2,
    name: "worker options",
    // The registration's WorkerOptions travel with the entry, by value, as JSON: the host that runs it checks them again.
    statements: (s) => [`alter table ${s}.workers add column options text not null default '{}'`],
  },
];

/**
 * What {@link migrateClusterSchema} found and left.
 *
 * @example
 * ```ts
 * import type { MigrationResult } from "./schema.ts";
 * const fresh: MigrationResult = { from: 0, to: 1 };
 * ```
 */
export interface MigrationResult {
  /** The version before: 0 for a database without the schema. */
  readonly from: number;
  /** The version after: the latest this code knows. */
  readonly to: number;
}

/**
 * Create the schema or bring it to the latest version, safely against any
 * number of hosts doing the same at once.
 *
 * @example
 * ```ts
 * import { migrateClusterSchema } from "./schema.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const { from, to } = await migrateClusterSchema(client);
 * ```
 */
export async function migrateClusterSchema(
  client: ClusterClient,
  schemaName: string = DEFAULT_CLUSTER_SCHEMA,
  migrations: readonly ClusterMigration[] = CLUSTER_MIGRATIONS,
): Promise<MigrationResult> {
  checkOrder(migrations);
  const s = quoteIdent(schemaName);
  return await client.begin(async (tx) => {
    // Named after the schema, so that clusters in two schemas do not wait for each other.
    await tx.query("select pg_advisory_xact_lock(hashtextextended('bgworker_cluster migrate ' || $1, 0))", [
      schemaName,
    ]);
    await tx.query(`create schema if not exists ${s}`);
    await tx.query(
      `create table if not exists ${s}.migrations (
        version int primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`,
    );
    const rows = await tx.query(`select coalesce(max(version), 0) as version from ${s}.migrations`);
    const from = readInt(rows[0]!, "version");
    const latest = migrations.at(-1)?.version ?? 0;
    if (from > latest) {
      throw new RangeError(
        `cluster schema ${s} is at version ${from}, newer than this bgworker knows (${latest}): upgrade this host`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      for (const statement of migration.statements(s)) await tx.query(statement);
      await tx.query(`insert into ${s}.migrations (version, name) values ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    return { from, to: latest };
  });
}

/** Versions must be 1, 2, 3, … with no gap: a gap would be a migration some host never ran. */
function checkOrder(migrations: readonly ClusterMigration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new RangeError(`cluster migration ${JSON.stringify(m.name)} has version ${m.version}; expected ${i + 1}`);
    }
  });
}
