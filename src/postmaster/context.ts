/**
 * What the postmaster's rooms share: its collaborators, and the few
 * operations one room asks of another. The facade builds one context and
 * hands it to each room, so that no room holds a reference to the facade.
 *
 * @module
 */

import type { RuntimeAdapter } from "../adapter.ts";
import type { BackgroundWorkerHandle } from "../handle.ts";
import type { LibraryLookup } from "../library_path.ts";
import type { Listeners } from "../listeners.ts";
import type { LogLevel } from "../log_level.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import type { WorkerClusterPlacement } from "../protocol.ts";
import type { ClusterHost } from "./cluster_host.ts";
import type { DatabaseCluster } from "./database_cluster.ts";
import type { PostmasterEvents } from "./events.ts";
import type { KillTimer } from "./kill_timer.ts";
import type { LiveProcesses } from "./live_processes.ts";
import type { PostmasterMetrics } from "./metrics.ts";
import type { Notifier } from "./notifier.ts";
import type { CheckedOptions, LogContext } from "./options.ts";
import type { PostmasterState } from "./pm_state.ts";
import type { SlotTimers } from "./slot_timers.ts";
import type { ClusterSegment } from "./shared_memory.ts";
import type { WorkerSlot } from "./slot_table.ts";
import type { SlotTable } from "./slot_table.ts";
import type { SparePool } from "./spare_pool.ts";

/**
 * The shared context of the postmaster's rooms.
 *
 * @example
 * ```ts
 * import type { PostmasterContext } from "./context.ts";
 * const runningWorkers = (ctx: PostmasterContext) => ctx.table.inUse().filter((s) => s.process).length;
 * ```
 */
export interface PostmasterContext {
  readonly options: CheckedOptions;
  readonly adapter: RuntimeAdapter;
  readonly state: PostmasterState;
  readonly table: SlotTable;
  readonly processes: LiveProcesses;
  readonly notifier: Notifier;
  readonly restarts: SlotTimers;
  /** The SIGKILL that follows a terminate a worker does not obey within `stopTimeoutMs`. */
  readonly terminations: SlotTimers;
  readonly killTimer: KillTimer;
  readonly spares: SparePool;
  readonly shmem: ClusterSegment;
  readonly database: DatabaseCluster;
  /** This postmaster as a host of a cluster (option `cluster`); idle without it. */
  readonly cluster: ClusterHost;
  readonly listeners: Listeners<PostmasterEvents>;
  /** The counters behind `pm.metrics()`. */
  readonly metrics: PostmasterMetrics;
  /** Log through the user's logger; a logger that throws is ignored. */
  log(level: LogLevel, message: string, context?: LogContext): void;
  /** Where bare library names are looked up. */
  lookup(): LibraryLookup;
  /** Start every worker whose time has come (the launcher). */
  maybeStartWorkers(): void;
  /** Register a validated dynamic worker, a cluster's with its placement (registrations). */
  registerDynamic(
    entry: BackgroundWorkerEntry,
    options: unknown,
    cluster?: WorkerClusterPlacement,
  ): BackgroundWorkerHandle | null;
  /** Terminate the worker a handle names (registrations). */
  terminate(handle: BackgroundWorkerHandle): void;
  /** Unregister a slot and free it (registrations). */
  forget(slot: WorkerSlot): void;
  /** Settle what becomes of a slot whose process is gone or never came (exits). */
  settle(slot: WorkerSlot, outcome: "unregister" | "restart_after_interval" | "restart_after_crash_cycle"): void;
  /** The memory check of workers with `memoryLimitMb` (memory limits): run it while one runs, cancel it at stop. */
  readonly memoryChecks: { watch(): void; cancel(): void };
  /** Every process is gone: finish a stop or a crash cycle (exits). */
  checkAllGone(): void;
  /** End the postmaster (shutdown). */
  finishStop(reason: "stop" | "crash"): void;
}
