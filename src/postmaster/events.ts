/**
 * What a postmaster tells its own process: events, and the summary of a
 * registered worker.
 *
 * @module
 */

import type { WorkerStatus } from "../handle.ts";
import type { BackgroundWorkerHandle } from "../handle.ts";
import type { WorkerNotification } from "./notifier.ts";

/**
 * Events a postmaster emits in its own process.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * pm.on("notify", ({ handle, status }) => console.log(handle, status));
 * pm.on("shutdown", ({ reason }) => console.log(reason));
 * ```
 */
export interface PostmasterEvents extends Record<string, unknown> {
  /** A worker registered with `bgw_notify_pid = pm.pid` started or stopped. */
  notify: WorkerNotification;
  /** The postmaster stopped, by `stop()` or because a crash with `restartAfterCrash: false` ended it. */
  shutdown: { reason: "stop" | "crash" };
  /**
   * The shared memory segment was just created, at `start()` or (zeroed)
   * after a crash, and no worker has started on it yet: PostgreSQL's
   * `shmem_startup_hook`, the place to set up named structs.
   */
  shmemStartup: { reinitialized: boolean };
}

/**
 * One registered worker, as `backgroundWorkers()` lists it.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * for (const w of pm.backgroundWorkers()) console.log(w.bgw_name, w.pid);
 * ```
 */
export interface WorkerSummary extends WorkerStatus {
  /** The worker's handle. */
  handle: BackgroundWorkerHandle;
  /** Its `bgw_name`. */
  bgw_name: string;
  /** Its `bgw_type` (its name when none was given). */
  bgw_type: string;
  /** Registered at run time rather than before or during `start()`. */
  dynamic: boolean;
}
