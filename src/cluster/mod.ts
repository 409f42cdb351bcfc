/**
 * Many hosts, one cluster: postmasters on several machines share their
 * dynamic workers through tables of a PostgreSQL database they all reach,
 * with no coordinator of their own. This is the store: every statement the
 * cluster runs, over a `ClusterClient` (any `DatabaseClient` of
 * `src/worker/port.ts`, as the runtimes' `connectDatabase` opens). The
 * postmaster calls it; it has no timers and no threads of its own.
 *
 * ## The model
 *
 * - A **host** (one postmaster) joins with the slots it offers and holds a
 *   **lease** it renews. Lease times are the database server's clock only.
 * - A **placement** puts a worker on the live host with the most free slots,
 *   in a transaction that holds the cluster's row lock, so placements run one
 *   at a time per cluster and the caps (each host's, and an optional
 *   cluster-wide one) are exact. It returns a handle `{cluster, slot,
 *   generation}` and a **fencing token**: a bigint from one counter per
 *   cluster, so every placement or move has a higher one than all before.
 * - A host whose lease lapsed is **dead**: a failover pass (any host may run
 *   it) releases its restartable workers, to start on live hosts with free
 *   slots no earlier than its lease's end plus their `bgw_restart_time`, and
 *   stops its `BGW_NEVER_RESTART` ones. A worker with no host free waits.
 *
 * ## The guarantee, and what it rests on
 *
 * One worker never runs on two hosts at once. The server moves a worker only
 * after its host's lease ended on the server's clock; the host stops its
 * workers before that, when it could not renew within `leaseMs` less a
 * margin, measured on its own monotonic clock from the moment it *sent* the
 * last successful renewal (fencing.ts). That takes:
 *
 * - **bounded clock rate drift**: the host's monotonic clock and the
 *   server's clock tick at rates within `maxDriftRate` of each other (1 % by
 *   default; NTP keeps real clocks within 0.05 %). No synchronization of
 *   their *dates* is needed, since no host ever compares a date of its own
 *   with the server's;
 * - **the server's clock does not jump forward** (`now()` is wall-clock
 *   time: a large forward step makes every lease lapse early), and the host's
 *   clock is monotonic (a suspended VM whose monotonic clock stops counting
 *   breaks the bound; use CLOCK_BOOTTIME-like clocks or a margin for it);
 * - **the host can stop its workers within the margin**: its fence check
 *   runs on time and SIGKILL works. A host paused longer than its margin
 *   (a stop-the-world pause, a frozen container) may still run a worker
 *   after its lease; the fencing token is for that case: a worker that
 *   writes to shared storage can carry its token and have stale ones refused
 *   there, as with any lease-based lock.
 *
 * A network partition from the database costs the cut-off host its workers
 * within `leaseMs` less the margin, even if the host is healthy, and they
 * start elsewhere after `leaseMs` plus their restart time: availability is
 * traded for never running twice. Hosts that still reach the database are
 * not affected. The database is the one place the cluster state lives: it
 * must be up for placements and renewals (its own high availability is the
 * database's).
 *
 * @module
 */

export { type ClusterStore, clusterStore, DEFAULT_CLUSTER_SCHEMA } from "./store.ts";
export { CLUSTER_MIGRATIONS, migrateClusterSchema, type MigrationResult } from "./schema.ts";
export {
  type HostInfo,
  type HostLease,
  joinCluster,
  type JoinOptions,
  lapsedHosts,
  type LeaseLoss,
  leaveCluster,
  liveHosts,
  renewLease,
  type RenewResult,
} from "./hosts.ts";
export { type ClusterPlacement, type ClusterWorkerHandle, type PlaceOptions, placeWorker } from "./placement.ts";
export {
  type ClusterWorkerRow,
  clusterWorkers,
  type ClusterWorkerStatus,
  getClusterWorkerStatus,
  type HostAssignment,
  hostAssignments,
  reportClusterWorker,
  requestClusterWorkerTermination,
  type WorkerReport,
} from "./status.ts";
export { failover, type FailoverReport, type WorkerAssignment } from "./failover.ts";
export { fenceDeadline, LeaseFence, type LeaseTiming, renewIntervalMs } from "./fencing.ts";
