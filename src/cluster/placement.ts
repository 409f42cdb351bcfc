/**
 * Placing a cluster worker: choose a live host with a free slot, give the
 * worker a slot number of the cluster, a generation and a fencing token, in
 * one transaction that runs alone per cluster (it holds the cluster's row
 * lock, see `lockCluster`). Serializing per cluster is what makes the caps
 * exact: two hosts placing at once cannot both see the last free slot.
 *
 * @module
 */

import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import { encodeWorkerEntry } from "../worker_entry.ts";
import type { WorkerOptions } from "../worker_options.ts";
import { type ClusterStore, inTransaction, lockCluster, readInt, readText, readTextOrNull } from "./store.ts";

/**
 * A cluster worker's handle: plain data that names the worker from any host
 * of the cluster (copy it, send it, compare it by value). A slot reused by a
 * later placement has a higher generation, so an old handle reads stopped.
 *
 * @example
 * ```ts
 * import type { ClusterWorkerHandle } from "./placement.ts";
 * const handle: ClusterWorkerHandle = { cluster: "default", slot: 3, generation: 1 };
 * const copy: ClusterWorkerHandle = JSON.parse(JSON.stringify(handle));
 * ```
 */
export interface ClusterWorkerHandle {
  /** The cluster's name. */
  readonly cluster: string;
  /** The worker's slot, unique in the cluster among workers not stopped. */
  readonly slot: number;
  /** Which placement in that slot. */
  readonly generation: number;
}

/**
 * Where a placement put the worker.
 *
 * @example
 * ```ts
 * import type { ClusterPlacement } from "./placement.ts";
 * declare const placed: ClusterPlacement;
 * console.log(`slot ${placed.handle.slot} on ${placed.hostId}, fence ${placed.fence}`);
 * ```
 */
export interface ClusterPlacement {
  /** What the caller gives out. */
  readonly handle: ClusterWorkerHandle;
  /** The host that is to start it. */
  readonly hostId: string;
  /** The fencing token of this placement: higher than every token the cluster gave before. */
  readonly fence: bigint;
}

/**
 * Options of {@link placeWorker}.
 *
 * @example
 * ```ts
 * import type { PlaceOptions } from "./placement.ts";
 * const options: PlaceOptions = { maxWorkers: 100 };
 * ```
 */
export interface PlaceOptions {
  /** Cap on the workers of the whole cluster that are not stopped (unassigned ones included); none when omitted. */
  readonly maxWorkers?: number;
  /** The registration's worker options (already checked), stored with the entry as JSON; none when omitted. */
  readonly workerOptions?: Readonly<WorkerOptions>;
}

/**
 * Place a worker on the live host with the most free slots (ties: the
 * smallest host id). A host's slots are its `maxWorkers` at join, and every
 * cluster worker assigned to it that is not stopped takes one, waiting for
 * a restart included, as in PostgreSQL. Resolves with null when no live
 * host has a free slot or the cluster is at `maxWorkers`, as
 * `RegisterDynamicBackgroundWorker` returns false; it never waits.
 *
 * The entry travels by value, as {@link encodeWorkerEntry}'s string; the
 * host that runs it decodes and validates it again.
 *
 * @example
 * ```ts
 * import { placeWorker } from "./placement.ts";
 * import { clusterStore } from "./store.ts";
 * import { validateBackgroundWorker } from "../worker_validation.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const entry = validateBackgroundWorker({
 *   bgw_name: "mover", bgw_flags: 0, bgw_start_time: 2, bgw_restart_time: 5,
 *   bgw_library_name: "./mover.ts", bgw_function_name: "main",
 * }, { dynamic: true });
 * const placed = await placeWorker(clusterStore(client, "default"), entry, { maxWorkers: 50 });
 * if (placed === null) console.log("no host has a free slot");
 * ```
 */
export async function placeWorker(
  store: ClusterStore,
  entry: BackgroundWorkerEntry,
  options: PlaceOptions = {},
): Promise<ClusterPlacement | null> {
  const { maxWorkers } = options;
  if (maxWorkers !== undefined && (!Number.isSafeInteger(maxWorkers) || maxWorkers < 0)) {
    throw new RangeError(`maxWorkers must be a non-negative integer; got ${String(maxWorkers)}`);
  }
  const encoded = encodeWorkerEntry(entry);
  const workerOptions = JSON.stringify(options.workerOptions ?? {});
  return await store.client.begin(async (client) => {
    const tx = inTransaction(store, client);
    const fence = await lockCluster(tx, 1);
    if (fence === null) return null; // no host ever joined
    const s = tx.schema;
    // One statement after the lock, so one snapshot that already holds every placement committed before us.
    const [choice] = await tx.client.query(
      `select
         (select count(*) from ${s}.workers where cluster = $1 and state <> 'stopped')::int as total,
         (select h.host_id from ${s}.hosts h
            cross join lateral (select count(*)::int as used from ${s}.workers w
                                 where w.cluster = h.cluster and w.host_id = h.host_id and w.state <> 'stopped') u
           where h.cluster = $1 and h.state = 'live' and h.lease_until >= clock_timestamp() and u.used < h.max_workers
           order by h.max_workers - u.used desc, h.host_id
           limit 1) as host_id,
         coalesce((select min(slot) from ${s}.workers where cluster = $1 and state = 'stopped'),
                  (select coalesce(max(slot) + 1, 0) from ${s}.workers where cluster = $1)) as slot`,
      [tx.name],
    );
    const hostId = readTextOrNull(choice!, "host_id");
    if (hostId === null) return null;
    if (maxWorkers !== undefined && readInt(choice!, "total") >= maxWorkers) return null;
    const slot = readInt(choice!, "slot");
    // A stopped row is a free slot: its next placement raises the generation, so the old handle reads stopped.
    const [row] = await tx.client.query(
      `insert into ${s}.workers as w
         (cluster, slot, generation, fence, entry, options, bgw_name, restart_time, state, host_id, placed_at, changed_at)
       values ($1, $2, 1, $3::bigint, $4, $8, $5, $6, 'pending', $7, clock_timestamp(), clock_timestamp())
       on conflict (cluster, slot) do update set
         generation = w.generation + 1, fence = excluded.fence, entry = excluded.entry, options = excluded.options,
         bgw_name = excluded.bgw_name, restart_time = excluded.restart_time, state = 'pending',
         host_id = excluded.host_id, pid = null, exit_code = null, terminate = false, not_before = null,
         placed_at = excluded.placed_at, changed_at = excluded.changed_at
       where w.state = 'stopped'
       returning w.generation, w.host_id`,
      [tx.name, slot, fence.toString(), encoded, entry.bgw_name, entry.bgw_restart_time, hostId, workerOptions],
    );
    // The lock makes a taken slot impossible here; if it ever happens, fail loudly rather than double-book.
    if (row === undefined) throw new Error(`cluster ${JSON.stringify(tx.name)}: slot ${slot} was taken under the lock`);
    return {
      handle: { cluster: tx.name, slot, generation: readInt(row, "generation") },
      hostId: readText(row, "host_id"),
      fence,
    };
  });
}
