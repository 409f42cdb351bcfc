/**
 * Failover: hosts whose lease lapsed are dead; their workers are released,
 * and released workers are given to live hosts with free slots. Every host
 * runs {@link failover} now and then (any of them may: it takes the
 * cluster's lock, so two at once do the work once).
 *
 * A released worker is not started again before `not_before`: the time its
 * old host is known to have stopped it, plus its `bgw_restart_time`, as
 * PostgreSQL waits that long after a crash. For a dead host that time is the
 * end of its lease, since a host stops its workers before its lease can
 * lapse (see mod.ts); for a host that left, the moment it left. Both are
 * the database's clock. `BGW_NEVER_RESTART` workers, and workers asked to
 * terminate, are stopped instead: PostgreSQL forgets them after a crash.
 *
 * A released worker keeps its slot and generation, so its handle stays
 * valid; it reads stopped (waiting for its restart) until a host takes it.
 * It waits unassigned until a live host has a free slot.
 *
 * @module
 */

import type { ClusterWorkerHandle } from "./placement.ts";
import { type ClusterStore, inTransaction, lockCluster, readBigint, readInt, readText } from "./store.ts";

/**
 * What one {@link failover} pass did.
 *
 * @example
 * ```ts
 * import type { FailoverReport } from "./failover.ts";
 * declare const report: FailoverReport;
 * for (const moved of report.assigned) console.log(moved.handle.slot, "now on", moved.hostId);
 * ```
 */
export interface FailoverReport {
  /** Hosts declared dead by this pass. */
  readonly deadHosts: readonly string[];
  /** Workers of those hosts that were stopped for good (`BGW_NEVER_RESTART`, or asked to terminate). */
  readonly stopped: readonly ClusterWorkerHandle[];
  /** Workers of those hosts released to wait for another host. */
  readonly released: readonly ClusterWorkerHandle[];
  /** Waiting workers given to a live host by this pass (released now or earlier), each with its new fence. */
  readonly assigned: readonly WorkerAssignment[];
  /** Workers still waiting for a host (or for their `not_before`) after this pass. */
  readonly waiting: number;
}

/**
 * A worker given to a host, with the fencing token of that assignment.
 *
 * @example
 * ```ts
 * import type { WorkerAssignment } from "./failover.ts";
 * const a: WorkerAssignment = { handle: { cluster: "c", slot: 0, generation: 1 }, hostId: "b", fence: 7n };
 * ```
 */
export interface WorkerAssignment {
  /** The worker. */
  readonly handle: ClusterWorkerHandle;
  /** Its new host. */
  readonly hostId: string;
  /** Its new fence, higher than any it had. */
  readonly fence: bigint;
}

/**
 * One pass: declare the hosts whose lease lapsed dead, release their
 * workers, and assign waiting workers whose `not_before` has come to live
 * hosts with free slots (most free slots first).
 *
 * @example
 * ```ts
 * import { failover } from "./failover.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const report = await failover(clusterStore(client, "default"));
 * if (report.deadHosts.length > 0) console.log("dead:", report.deadHosts);
 * ```
 */
export async function failover(store: ClusterStore): Promise<FailoverReport> {
  return await store.client.begin(async (client) => {
    const tx = inTransaction(store, client);
    if (await lockCluster(tx, 0) === null) {
      return { deadHosts: [], stopped: [], released: [], assigned: [], waiting: 0 };
    }
    const ended = await endHosts(
      tx,
      `update ${tx.schema}.hosts set state = 'dead', ended_at = clock_timestamp()
        where cluster = $1 and state = 'live' and lease_until < clock_timestamp()
        returning host_id, lease_until as gone_at`,
      [],
    );
    const assigned = await assignWaiting(tx);
    const [count] = await tx.client.query(
      `select count(*)::int as waiting from ${tx.schema}.workers where cluster = $1 and host_id is null and state = 'waiting'`,
      [tx.name],
    );
    return { ...ended, assigned, waiting: readInt(count!, "waiting") };
  });
}

/**
 * Under the cluster lock: end the hosts the `update … returning host_id,
 * gone_at` statement `endedHosts` ends (its `$1` is the cluster's name, then
 * `params`), and release their workers as the module doc says.
 *
 * @example
 * ```ts
 * import { endHosts } from "./failover.ts";
 * import type { ClusterStore } from "./store.ts";
 * declare const tx: ClusterStore; // a transaction that holds the cluster lock
 * await endHosts(tx, `update ${tx.schema}.hosts set state = 'left' where cluster = $1 and host_id = $2
 *   returning host_id, clock_timestamp() as gone_at`, ["host-a"]);
 * ```
 */
export async function endHosts(
  tx: ClusterStore,
  endedHosts: string,
  params: readonly unknown[],
): Promise<Pick<FailoverReport, "deadHosts" | "stopped" | "released">> {
  const s = tx.schema;
  // Data-modifying CTEs share one snapshot: `stopped` and `moved` pick disjoint rows of the ended hosts.
  const rows = await tx.client.query(
    `with ended as (${endedHosts}),
     stopped as (
       update ${s}.workers w set state = 'stopped', pid = null, changed_at = clock_timestamp()
         from ended e
        where w.cluster = $1 and w.host_id = e.host_id and w.state <> 'stopped'
          and (w.restart_time < 0 or w.terminate)
        returning w.slot, w.generation),
     moved as (
       update ${s}.workers w set state = 'waiting', pid = null, host_id = null,
              not_before = e.gone_at + w.restart_time * interval '1 second', changed_at = clock_timestamp()
         from ended e
        where w.cluster = $1 and w.host_id = e.host_id and w.state <> 'stopped'
          and not (w.restart_time < 0 or w.terminate)
        returning w.slot, w.generation)
     select 'host' as kind, host_id, null::int as slot, null::int as generation from ended
     union all select 'stopped', null, slot, generation from stopped
     union all select 'released', null, slot, generation from moved`,
    [tx.name, ...params],
  );
  const handles = (kind: string) =>
    rows.filter((r) => r.kind === kind).map((r) => ({
      cluster: tx.name,
      slot: readInt(r, "slot"),
      generation: readInt(r, "generation"),
    })).sort((a, b) => a.slot - b.slot);
  return {
    deadHosts: rows.filter((r) => r.kind === "host").map((r) => readText(r, "host_id")),
    stopped: handles("stopped"),
    released: handles("released"),
  };
}

/**
 * Under the cluster lock: give waiting workers whose `not_before` has come
 * to live hosts with free slots, each with a new fence.
 *
 * @example
 * ```ts
 * import { assignWaiting } from "./failover.ts";
 * import type { ClusterStore } from "./store.ts";
 * declare const tx: ClusterStore; // a transaction that holds the cluster lock
 * const assigned = await assignWaiting(tx);
 * ```
 */
export async function assignWaiting(tx: ClusterStore): Promise<WorkerAssignment[]> {
  const s = tx.schema;
  const waiting = await tx.client.query(
    `select slot, generation from ${s}.workers
      where cluster = $1 and host_id is null and state = 'waiting' and not terminate
        and not_before <= clock_timestamp()
      order by not_before, slot`,
    [tx.name],
  );
  if (waiting.length === 0) return [];
  const hosts = await tx.client.query(
    `select h.host_id, h.max_workers - u.used as free from ${s}.hosts h
       cross join lateral (select count(*)::int as used from ${s}.workers w
                            where w.cluster = h.cluster and w.host_id = h.host_id and w.state <> 'stopped') u
      where h.cluster = $1 and h.state = 'live' and h.lease_until >= clock_timestamp() and u.used < h.max_workers`,
    [tx.name],
  );
  const plan = spreadOverHosts(
    waiting.map((r) => ({ slot: readInt(r, "slot"), generation: readInt(r, "generation") })),
    hosts.map((r) => ({ hostId: readText(r, "host_id"), free: readInt(r, "free") })),
  );
  if (plan.length === 0) return [];
  const last = (await lockCluster(tx, plan.length))!;
  const first = last - BigInt(plan.length) + 1n;
  const rows = await tx.client.query(
    `update ${s}.workers w set host_id = a.host_id, fence = a.fence, state = 'pending', not_before = null,
            changed_at = clock_timestamp()
       from json_to_recordset($2::text::json) as a(slot int, generation int, host_id text, fence bigint)
      where w.cluster = $1 and w.slot = a.slot and w.generation = a.generation
        and w.host_id is null and w.state = 'waiting' and not w.terminate
      returning w.slot, w.generation, w.host_id, w.fence::text as fence`,
    [tx.name, JSON.stringify(plan.map((p, i) => ({ ...p, host_id: p.hostId, fence: String(first + BigInt(i)) })))],
  );
  return rows.map((r) => ({
    handle: { cluster: tx.name, slot: readInt(r, "slot"), generation: readInt(r, "generation") },
    hostId: readText(r, "host_id"),
    fence: readBigint(r, "fence"),
  })).sort((a, b) => a.handle.slot - b.handle.slot);
}

/**
 * Give workers, in order, to the host with the most free slots left (ties:
 * the smallest host id), until the workers or the slots run out. Pure, so
 * the policy is tested without a database.
 *
 * @example
 * ```ts
 * import { spreadOverHosts } from "./failover.ts";
 * spreadOverHosts([{ slot: 0, generation: 1 }, { slot: 1, generation: 1 }], [{ hostId: "a", free: 1 }, { hostId: "b", free: 2 }]);
 * // [{ slot: 0, generation: 1, hostId: "b" }, { slot: 1, generation: 1, hostId: "a" }]
 * ```
 */
export function spreadOverHosts<W extends { slot: number; generation: number }>(
  workers: readonly W[],
  hosts: readonly { hostId: string; free: number }[],
): (W & { hostId: string })[] {
  const left = hosts.filter((h) => h.free > 0).map((h) => ({ ...h }));
  const plan: (W & { hostId: string })[] = [];
  for (const worker of workers) {
    let best: { hostId: string; free: number } | undefined;
    for (const h of left) {
      if (h.free > 0 && (!best || h.free > best.free || (h.free === best.free && h.hostId < best.hostId))) best = h;
    }
    if (!best) break;
    best.free--;
    plan.push({ ...worker, hostId: best.hostId });
  }
  return plan;
}
