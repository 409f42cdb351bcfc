/**
 * Hosts and their leases. A host joins with the number of worker slots it
 * offers, renews its lease well before it ends, and leaves when it stops.
 * Every lease time is the database's clock (`now()`, `clock_timestamp()`):
 * hosts never compare their clocks with each other or with the server's,
 * so they need no clock synchronization (see mod.ts for what they do need).
 *
 * A host is one incarnation of a host id: each join takes a new
 * `incarnation` from the cluster's token counter, and only that incarnation
 * may renew. A postmaster that restarts under the same host id (a
 * Kubernetes StatefulSet pod) therefore replaces its old self, whose
 * workers are released as a dead host's are, not adopted.
 *
 * @module
 */

import { assignWaiting, endHosts } from "./failover.ts";
import { type ClusterStore, inTransaction, lockCluster, readBigint, readInt, readText } from "./store.ts";

/**
 * A host's membership, from {@link joinCluster}: what it renews and leaves with.
 *
 * @example
 * ```ts
 * import type { HostLease } from "./hosts.ts";
 * const lease: HostLease = { cluster: "default", hostId: "pod-7", incarnation: 12n, leaseMs: 10_000 };
 * ```
 */
export interface HostLease {
  /** The cluster's name. */
  readonly cluster: string;
  /** The host's id in the cluster. */
  readonly hostId: string;
  /** This join of that host id; a later join of the same id replaces it. */
  readonly incarnation: bigint;
  /** The lease's length: each renewal ends it this long after the server received the renewal. */
  readonly leaseMs: number;
}

/**
 * Options of {@link joinCluster}.
 *
 * @example
 * ```ts
 * import type { JoinOptions } from "./hosts.ts";
 * const options: JoinOptions = { hostId: "pod-7", maxWorkers: 8, leaseMs: 10_000 };
 * ```
 */
export interface JoinOptions {
  /** The host's id, unique in the cluster among hosts running at once. */
  readonly hostId: string;
  /** Cluster worker slots this host offers: its cap. */
  readonly maxWorkers: number;
  /** The lease's length in milliseconds. */
  readonly leaseMs: number;
}

/**
 * Why a renewal was refused: the host must stop its cluster workers (if it
 * has not already) and join again to take new ones.
 *
 * - `"lapsed"`: the lease ended before the renewal reached the server;
 * - `"dead"`: another host declared this one dead and released its workers;
 * - `"replaced"`: the same host id joined again (another incarnation);
 * - `"left"`: this host left;
 * - `"unknown"`: the cluster has no such host.
 *
 * @example
 * ```ts
 * import type { LeaseLoss } from "./hosts.ts";
 * const reason: LeaseLoss = "dead";
 * ```
 */
export type LeaseLoss = "lapsed" | "dead" | "replaced" | "left" | "unknown";

/**
 * A renewal's answer.
 *
 * @example
 * ```ts
 * import type { RenewResult } from "./hosts.ts";
 * declare const result: RenewResult;
 * if (!result.ok) console.log(`lease lost: ${result.reason}`);
 * ```
 */
export type RenewResult = { readonly ok: true } | { readonly ok: false; readonly reason: LeaseLoss };

/**
 * A host as the cluster sees it.
 *
 * @example
 * ```ts
 * import type { HostInfo } from "./hosts.ts";
 * const host: HostInfo = { hostId: "pod-7", maxWorkers: 8, workers: 3, leaseLeftMs: 7200 };
 * ```
 */
export interface HostInfo {
  /** The host's id. */
  readonly hostId: string;
  /** Its cap. */
  readonly maxWorkers: number;
  /** Cluster workers assigned to it that are not stopped. */
  readonly workers: number;
  /** Milliseconds until its lease ends, by the server's clock; negative once lapsed. */
  readonly leaseLeftMs: number;
}

/**
 * Join the cluster (creating its row on first use) with a fresh lease, and
 * give waiting workers to the new host. A live row of the same host id is
 * replaced: its workers are released as a dead host's, not before its lease
 * ends, since that old process may still be running them.
 *
 * @example
 * ```ts
 * import { joinCluster } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const lease = await joinCluster(clusterStore(client, "default"), { hostId: "pod-7", maxWorkers: 8, leaseMs: 10_000 });
 * ```
 */
export async function joinCluster(store: ClusterStore, options: JoinOptions): Promise<HostLease> {
  const { hostId, maxWorkers, leaseMs } = options;
  if (typeof hostId !== "string" || hostId === "") {
    throw new TypeError(`hostId must be a non-empty string; got ${JSON.stringify(hostId)}`);
  }
  if (!Number.isSafeInteger(maxWorkers) || maxWorkers < 0) {
    throw new RangeError(`maxWorkers must be a non-negative integer; got ${String(maxWorkers)}`);
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0 || leaseMs > 2 ** 31 - 1) {
    throw new RangeError(`leaseMs must be a positive integer of milliseconds; got ${String(leaseMs)}`);
  }
  await store.client.query(`insert into ${store.schema}.clusters (name) values ($1) on conflict do nothing`, [
    store.name,
  ]);
  return await store.client.begin(async (client) => {
    const tx = inTransaction(store, client);
    const incarnation = (await lockCluster(tx, 1))!;
    await endHosts(
      tx,
      `update ${tx.schema}.hosts set state = 'dead', ended_at = clock_timestamp()
        where cluster = $1 and host_id = $2 and state = 'live'
        returning host_id, greatest(lease_until, clock_timestamp()) as gone_at`,
      [hostId],
    );
    await tx.client.query(
      `insert into ${tx.schema}.hosts as h
         (cluster, host_id, incarnation, max_workers, lease_ms, state, joined_at, lease_until)
       values ($1, $2, $3::bigint, $4::int, $5::int, 'live', clock_timestamp(), now() + $5::int * interval '1 millisecond')
       on conflict (cluster, host_id) do update set
         incarnation = excluded.incarnation, max_workers = excluded.max_workers, lease_ms = excluded.lease_ms,
         state = 'live', joined_at = excluded.joined_at, lease_until = excluded.lease_until, ended_at = null`,
      [tx.name, hostId, incarnation.toString(), maxWorkers, leaseMs],
    );
    await assignWaiting(tx);
    return { cluster: tx.name, hostId, incarnation, leaseMs };
  });
}

/**
 * Renew the lease: it then ends `leaseMs` after the server's `now()` for
 * this statement. `maxWorkers`, when given, becomes the host's cap from now
 * on (a host whose own workers take slots offers fewer; placements already
 * made stay). Refused, with the reason, when the lease already lapsed or
 * this incarnation is no longer the live one; a refused host has lost its
 * workers and must stop them at once.
 *
 * @example
 * ```ts
 * import { renewLease, type HostLease } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * declare const lease: HostLease;
 * const result = await renewLease(clusterStore(client, lease.cluster), lease);
 * ```
 */
export async function renewLease(store: ClusterStore, lease: HostLease, maxWorkers?: number): Promise<RenewResult> {
  if (maxWorkers !== undefined && (!Number.isSafeInteger(maxWorkers) || maxWorkers < 0)) {
    throw new RangeError(`maxWorkers must be a non-negative integer; got ${String(maxWorkers)}`);
  }
  const s = store.schema;
  // now() is when the statement started: earlier than when it ran, so the lease never ends later than the host expects.
  const renewed = await store.client.query(
    `update ${s}.hosts set lease_until = now() + lease_ms * interval '1 millisecond',
            max_workers = coalesce($4::int, max_workers)
      where cluster = $1 and host_id = $2 and incarnation = $3::bigint and state = 'live'
        and lease_until >= clock_timestamp()
      returning host_id`,
    [lease.cluster, lease.hostId, lease.incarnation.toString(), maxWorkers ?? null],
  );
  if (renewed.length > 0) return { ok: true };
  const [row] = await store.client.query(
    `select state, incarnation::text as incarnation from ${s}.hosts where cluster = $1 and host_id = $2`,
    [lease.cluster, lease.hostId],
  );
  if (row === undefined) return { ok: false, reason: "unknown" };
  if (readBigint(row, "incarnation") !== lease.incarnation) return { ok: false, reason: "replaced" };
  const state = readText(row, "state");
  return { ok: false, reason: state === "dead" ? "dead" : state === "left" ? "left" : "lapsed" };
}

/**
 * Leave the cluster, after stopping this host's cluster workers: the
 * restartable ones are released at once (not before their restart time)
 * and given to live hosts; the others are stopped. False when this
 * incarnation was no longer live (its workers were already released).
 *
 * @example
 * ```ts
 * import { leaveCluster, type HostLease } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * declare const lease: HostLease;
 * await leaveCluster(clusterStore(client, lease.cluster), lease);
 * ```
 */
export async function leaveCluster(store: ClusterStore, lease: HostLease): Promise<boolean> {
  return await store.client.begin(async (client) => {
    const tx = inTransaction(store, client);
    if (await lockCluster(tx, 0) === null) return false;
    const ended = await endHosts(
      tx,
      `update ${tx.schema}.hosts set state = 'left', ended_at = clock_timestamp()
        where cluster = $1 and host_id = $2 and incarnation = $3::bigint and state = 'live'
        returning host_id, clock_timestamp() as gone_at`,
      [lease.hostId, lease.incarnation.toString()],
    );
    if (ended.deadHosts.length === 0) return false;
    await assignWaiting(tx);
    return true;
  });
}

/**
 * The hosts whose lease has not lapsed, by host id.
 *
 * @example
 * ```ts
 * import { liveHosts } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const free = (await liveHosts(clusterStore(client, "default"))).reduce((n, h) => n + h.maxWorkers - h.workers, 0);
 * ```
 */
export async function liveHosts(store: ClusterStore): Promise<HostInfo[]> {
  return await hosts(store, "lease_until >= clock_timestamp()");
}

/**
 * The hosts still marked live whose lease has lapsed: what the next
 * {@link failover} pass declares dead.
 *
 * @example
 * ```ts
 * import { lapsedHosts } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const lapsed = await lapsedHosts(clusterStore(client, "default"));
 * ```
 */
export async function lapsedHosts(store: ClusterStore): Promise<HostInfo[]> {
  return await hosts(store, "lease_until < clock_timestamp()");
}

async function hosts(store: ClusterStore, condition: string): Promise<HostInfo[]> {
  const s = store.schema;
  const rows = await store.client.query(
    `select h.host_id, h.max_workers, u.used,
            (extract(epoch from h.lease_until - clock_timestamp()) * 1000)::float8 as left_ms
       from ${s}.hosts h
       cross join lateral (select count(*)::int as used from ${s}.workers w
                            where w.cluster = h.cluster and w.host_id = h.host_id and w.state <> 'stopped') u
      where h.cluster = $1 and h.state = 'live' and ${condition}
      order by h.host_id`,
    [store.name],
  );
  return rows.map((r) => ({
    hostId: readText(r, "host_id"),
    maxWorkers: readInt(r, "max_workers"),
    workers: readInt(r, "used"),
    leaseLeftMs: Number(r.left_ms),
  }));
}
