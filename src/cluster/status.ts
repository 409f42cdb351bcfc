/**
 * A cluster worker's status, both ways: what its host reports (started with
 * a pid, exited and waiting for a restart, stopped), what any host reads
 * back through a handle, the terminate request any host may make and the
 * owning host carries out, and the list a host reads of the workers it is
 * to run.
 *
 * Every report names the placement's fence: a host reporting on a worker
 * that was moved away (its fence is old) is refused, and learns from that
 * that the worker is no longer its own.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../constants.ts";
import type { HostLease } from "./hosts.ts";
import type { ClusterWorkerHandle } from "./placement.ts";
import { type ClusterStore, readBigint, readInt, readIntOrNull, readText, readTextOrNull } from "./store.ts";

/**
 * A handle's answer, as `GetBackgroundWorkerPid` gives it, plus the host.
 *
 * @example
 * ```ts
 * import { BGWH_STARTED } from "../constants.ts";
 * import type { ClusterWorkerStatus } from "./status.ts";
 * const running: ClusterWorkerStatus = { status: BGWH_STARTED, pid: 4242, hostId: "pod-7" };
 * ```
 */
export interface ClusterWorkerStatus {
  /** `BGWH_NOT_YET_STARTED`, `BGWH_STARTED` or `BGWH_STOPPED` (gone, waiting for a restart, or the slot was reused). */
  readonly status: number;
  /** The worker's process id on its host while it runs, else null. */
  readonly pid: number | null;
  /** The host it is assigned to (or last ran on, once stopped); null when it waits for one or the handle is stale. */
  readonly hostId: string | null;
}

/**
 * A worker a host is to run, from {@link hostAssignments}.
 *
 * @example
 * ```ts
 * import type { HostAssignment } from "./status.ts";
 * declare const a: HostAssignment;
 * if (a.terminate) console.log(`SIGTERM worker in slot ${a.handle.slot}`);
 * ```
 */
export interface HostAssignment {
  /** The worker. */
  readonly handle: ClusterWorkerHandle;
  /** The fence of its placement on this host: the worker may read it, and reports name it. */
  readonly fence: bigint;
  /** Its entry, as `encodeWorkerEntry` made it: decode (and so validate) it with `decodeWorkerEntry`. */
  readonly entry: string;
  /** Its registration's worker options, as JSON (`{}` for none): check them again before use. */
  readonly options: string;
  /** `"pending"`: to start; `"started"`: reported running; `"waiting"`: exited, its host restarts it. */
  readonly state: "pending" | "started" | "waiting";
  /** The pid last reported, while started. */
  readonly pid: number | null;
  /** Some host asked that it be terminated: SIGTERM it (or do not start it) and report it stopped. */
  readonly terminate: boolean;
}

/**
 * What a host reports about one of its workers.
 *
 * @example
 * ```ts
 * import type { WorkerReport } from "./status.ts";
 * const reports: WorkerReport[] = [
 *   { state: "started", pid: 4242 },
 *   { state: "waiting", exitCode: 1 },  // exited; restarted here after bgw_restart_time
 *   { state: "stopped", exitCode: 0 },  // unregistered: its slot is free
 * ];
 * ```
 */
export type WorkerReport =
  | { readonly state: "started"; readonly pid: number }
  | { readonly state: "waiting"; readonly exitCode: number | null }
  | { readonly state: "stopped"; readonly exitCode: number | null };

/**
 * The status of the worker a handle names, from any host. A worker
 * reported running on a host whose lease has lapsed reads stopped: that
 * host has stopped it, or is about to by its own clock.
 *
 * @example
 * ```ts
 * import { getClusterWorkerStatus } from "./status.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const handle = { cluster: "default", slot: 0, generation: 1 };
 * const { status, pid, hostId } = await getClusterWorkerStatus(clusterStore(client, handle.cluster), handle);
 * ```
 */
export async function getClusterWorkerStatus(
  store: ClusterStore,
  handle: ClusterWorkerHandle,
): Promise<ClusterWorkerStatus> {
  const s = store.schema;
  const [row] = await store.client.query(
    `select w.state, w.pid, w.host_id,
            coalesce(h.state = 'live' and h.lease_until >= clock_timestamp(), false) as host_live
       from ${s}.workers w left join ${s}.hosts h on h.cluster = w.cluster and h.host_id = w.host_id
      where w.cluster = $1 and w.slot = $2 and w.generation = $3`,
    [handle.cluster, handle.slot, handle.generation],
  );
  if (row === undefined) return { status: BGWH_STOPPED, pid: null, hostId: null };
  const state = readText(row, "state");
  const hostId = readTextOrNull(row, "host_id");
  if (state === "pending") return { status: BGWH_NOT_YET_STARTED, pid: null, hostId };
  if (state === "started" && row.host_live === true) return { status: BGWH_STARTED, pid: readInt(row, "pid"), hostId };
  return { status: BGWH_STOPPED, pid: null, hostId };
}

/**
 * Ask for a worker's termination, from any host: its host sees the flag in
 * {@link hostAssignments}, sends SIGTERM (or does not start it) and reports
 * it stopped; it is never restarted. A worker waiting for a host is stopped
 * here at once. Safe on a stale handle: resolves false when the handle's
 * worker is already stopped or its slot was reused.
 *
 * @example
 * ```ts
 * import { requestClusterWorkerTermination } from "./status.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * const handle = { cluster: "default", slot: 0, generation: 1 };
 * await requestClusterWorkerTermination(clusterStore(client, handle.cluster), handle);
 * ```
 */
export async function requestClusterWorkerTermination(
  store: ClusterStore,
  handle: ClusterWorkerHandle,
): Promise<boolean> {
  const rows = await store.client.query(
    `update ${store.schema}.workers
        set terminate = true, changed_at = clock_timestamp(),
            state = case when host_id is null then 'stopped' else state end
      where cluster = $1 and slot = $2 and generation = $3 and state <> 'stopped'
      returning slot`,
    [handle.cluster, handle.slot, handle.generation],
  );
  return rows.length > 0;
}

/**
 * The workers assigned to this host that are not stopped, by slot; null
 * when this incarnation's lease is no longer live, in which case the host
 * must stop every cluster worker it runs.
 *
 * @example
 * ```ts
 * import { hostAssignments } from "./status.ts";
 * import type { HostLease } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * declare const lease: HostLease;
 * const mine = await hostAssignments(clusterStore(client, lease.cluster), lease);
 * if (mine === null) console.log("fenced: stop every cluster worker");
 * ```
 */
export async function hostAssignments(store: ClusterStore, lease: HostLease): Promise<HostAssignment[] | null> {
  const s = store.schema;
  const rows = await store.client.query(
    `select w.slot, w.generation, w.fence::text as fence, w.entry, w.options, w.state, w.pid, w.terminate
       from ${s}.hosts h
       left join ${s}.workers w on w.cluster = h.cluster and w.host_id = h.host_id and w.state <> 'stopped'
      where h.cluster = $1 and h.host_id = $2 and h.incarnation = $3::bigint and h.state = 'live'
        and h.lease_until >= clock_timestamp()
      order by w.slot`,
    [lease.cluster, lease.hostId, lease.incarnation.toString()],
  );
  if (rows.length === 0) return null;
  return rows.filter((r) => r.slot !== null).map((r) => ({
    handle: { cluster: lease.cluster, slot: readInt(r, "slot"), generation: readInt(r, "generation") },
    fence: readBigint(r, "fence"),
    entry: readText(r, "entry"),
    options: readText(r, "options"),
    state: readText(r, "state") as HostAssignment["state"],
    pid: readIntOrNull(r, "pid"),
    terminate: r.terminate === true,
  }));
}

/**
 * Report on a worker of this host. Resolves false when the report was
 * refused because the worker is no longer this host's under that fence
 * (moved, stopped, or its slot reused): the host must then stop it if it
 * runs. A `"started"` report also needs this host's lease to be live, so a
 * host that lost its lease cannot claim a worker back; exits are recorded
 * whatever the lease, since they are true and stop the worker for good.
 *
 * @example
 * ```ts
 * import { reportClusterWorker, type HostAssignment } from "./status.ts";
 * import type { HostLease } from "./hosts.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * declare const lease: HostLease;
 * declare const mine: HostAssignment;
 * const ours = await reportClusterWorker(clusterStore(client, lease.cluster), lease, mine, { state: "started", pid: 4242 });
 * ```
 */
export async function reportClusterWorker(
  store: ClusterStore,
  lease: HostLease,
  worker: Pick<HostAssignment, "handle" | "fence">,
  report: WorkerReport,
): Promise<boolean> {
  const s = store.schema;
  const { cluster, slot, generation } = worker.handle;
  const match = `cluster = $1 and slot = $2 and generation = $3 and fence = $4::bigint and host_id = $5`;
  const key = [cluster, slot, generation, worker.fence.toString(), lease.hostId];
  let rows: Record<string, unknown>[];
  if (report.state === "started") {
    if (!Number.isSafeInteger(report.pid) || report.pid <= 0) {
      throw new RangeError(`a started worker's pid must be a positive integer; got ${String(report.pid)}`);
    }
    rows = await store.client.query(
      `update ${s}.workers set state = 'started', pid = $7, exit_code = null, changed_at = clock_timestamp()
        where ${match} and state in ('pending', 'waiting')
          and exists (select 1 from ${s}.hosts where cluster = $1 and host_id = $5 and incarnation = $6::bigint
                         and state = 'live' and lease_until >= clock_timestamp())
        returning slot`,
      [...key, lease.incarnation.toString(), report.pid],
    );
  } else {
    rows = await store.client.query(
      `update ${s}.workers set state = $6, pid = null, exit_code = $7, changed_at = clock_timestamp(),
              terminate = terminate and $6 <> 'stopped'
        where ${match} and state <> 'stopped'
        returning slot`,
      [...key, report.state, report.exitCode],
    );
  }
  return rows.length > 0;
}

/**
 * One worker of the cluster, as `bgworker ps --cluster` lists it.
 *
 * @example
 * ```ts
 * import type { ClusterWorkerRow } from "./status.ts";
 * declare const row: ClusterWorkerRow;
 * console.log(`${row.hostId ?? "-"} ${row.name} ${row.state} ${row.pid ?? ""}`);
 * ```
 */
export interface ClusterWorkerRow {
  /** Its handle. */
  readonly handle: ClusterWorkerHandle;
  /** Its `bgw_name`. */
  readonly name: string;
  /** `"pending"`, `"started"`, `"waiting"` (to restart, or for a host), or `"stopped"` when its host's lease lapsed. */
  readonly state: "pending" | "started" | "waiting" | "stopped";
  /** The host it is assigned to; null while it waits for one. */
  readonly hostId: string | null;
  /** Its pid while started. */
  readonly pid: number | null;
  /** The fencing token of its placement, as decimal text (JSON has no bigint). */
  readonly fence: string;
}

/**
 * Every worker of the cluster that is not stopped, by slot: what each host
 * reported last. A worker on a host whose lease lapsed reads `"stopped"`,
 * as {@link getClusterWorkerStatus} says.
 *
 * @example
 * ```ts
 * import { clusterWorkers } from "./status.ts";
 * import { clusterStore } from "./store.ts";
 * import type { ClusterClient } from "./store.ts";
 * declare const client: ClusterClient;
 * console.table(await clusterWorkers(clusterStore(client, "default")));
 * ```
 */
export async function clusterWorkers(store: ClusterStore): Promise<ClusterWorkerRow[]> {
  const s = store.schema;
  const rows = await store.client.query(
    `select w.slot, w.generation, w.bgw_name, w.state, w.host_id, w.pid, w.fence::text as fence,
            coalesce(h.state = 'live' and h.lease_until >= clock_timestamp(), false) as host_live
       from ${s}.workers w left join ${s}.hosts h on h.cluster = w.cluster and h.host_id = w.host_id
      where w.cluster = $1 and w.state <> 'stopped'
      order by w.slot`,
    [store.name],
  );
  return rows.map((r) => {
    const hostId = readTextOrNull(r, "host_id");
    const lapsed = hostId !== null && r.host_live !== true;
    return {
      handle: { cluster: store.name, slot: readInt(r, "slot"), generation: readInt(r, "generation") },
      name: readText(r, "bgw_name"),
      state: lapsed ? "stopped" : readText(r, "state") as ClusterWorkerRow["state"],
      hostId,
      pid: lapsed ? null : readIntOrNull(r, "pid"),
      fence: readText(r, "fence"),
    };
  });
}
