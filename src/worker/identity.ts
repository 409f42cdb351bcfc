/**
 * Who this worker is and whether it may go on: its registration, its pid,
 * its latch, its postmaster's life, and the way out.
 *
 * The `export let` bindings mirror the worker's state: this module
 * subscribes to it when loaded, so every loaded copy of it (the bootstrap's
 * and the user's may differ) is current once the start parameters are in.
 *
 * @module
 */

import type { WorkerClusterPlacement } from "../protocol.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import type { Latch } from "./latch.ts";
import { exitWorker, onWorkerStateChange, requirePort, workerState } from "./state.ts";

/**
 * This worker's registration: a copy rebuilt from the by-value start
 * parameters before the worker's module was imported. Null outside a worker.
 *
 * @example
 * ```ts
 * import { myBgworkerEntry } from "bgworker/worker";
 * const index = Number(myBgworkerEntry?.bgw_main_arg);
 * ```
 */
export let myBgworkerEntry: BackgroundWorkerEntry | null = workerState().entry;

/**
 * This process's id (PostgreSQL's `MyProcPid`); 0 outside a worker.
 *
 * @example
 * ```ts
 * import { myProcPid } from "bgworker/worker";
 * console.log(`worker ${myProcPid} here`);
 * ```
 */
export let myProcPid: number = workerState().port?.pid ?? 0;

/**
 * Where the cluster placed this worker, for a worker started by
 * `registerClusterWorker`; null for a local worker and outside a worker.
 * `fence` is the placement's fencing token: every later placement or move
 * of any cluster worker has a higher one, so storage that remembers the
 * highest token it saw can refuse a stale copy's writes.
 *
 * @example
 * ```ts
 * import { myClusterPlacement } from "bgworker/worker";
 * if (myClusterPlacement) console.log(`slot ${myClusterPlacement.slot}, fence ${myClusterPlacement.fence}`);
 * ```
 */
export let myClusterPlacement: ClusterPlacement | null = placementOf(workerState().cluster);

onWorkerStateChange((state) => {
  myBgworkerEntry = state.entry;
  myProcPid = state.port?.pid ?? 0;
  myClusterPlacement = placementOf(state.cluster);
});

/**
 * A cluster worker's placement, as {@link myClusterPlacement} gives it.
 *
 * @example
 * ```ts
 * import type { ClusterPlacement } from "bgworker/worker";
 * const newer = (a: ClusterPlacement, b: ClusterPlacement) => a.fence > b.fence;
 * ```
 */
export interface ClusterPlacement {
  /** The cluster's name. */
  readonly cluster: string;
  /** The worker's slot in the cluster: with `generation`, its `ClusterWorkerHandle`. */
  readonly slot: number;
  /** The placement's generation in that slot. */
  readonly generation: number;
  /** The placement's fencing token. */
  readonly fence: bigint;
  /** The host running it. */
  readonly hostId: string;
}

function placementOf(cluster: WorkerClusterPlacement | null): ClusterPlacement | null {
  if (cluster === null) return null;
  const { cluster: name, slot, generation, fence, hostId } = cluster;
  return Object.freeze({ cluster: name, slot, generation, fence: BigInt(fence), hostId });
}

/**
 * This process's latch: SIGUSR1 and notifications about workers it started set it.
 *
 * @example
 * ```ts
 * import { myLatch, setLatch } from "bgworker/worker";
 * setLatch(myLatch);
 * ```
 */
export const myLatch: Latch = workerState().latch;

/**
 * Whether the postmaster is alive: its channel is open and it is still this
 * process's parent.
 *
 * @example
 * ```ts
 * import { postmasterIsAlive, procExit } from "bgworker/worker";
 * if (!postmasterIsAlive()) procExit(1);
 * ```
 */
export function postmasterIsAlive(): boolean {
  const state = workerState();
  const port = requirePort("postmasterIsAlive");
  // The parent check catches a death whose end-of-file has not arrived yet: an orphan is re-parented at once.
  return !state.postmasterDead && port.parentPid() === state.postmasterPid;
}

/**
 * Exit the worker process. Code 0 unregisters the worker, 1 asks for a
 * restart after its interval, anything else is a crash. Messages already
 * sent (log lines, requests) are written first, so on some runtimes (Deno)
 * code after the call may run for a moment; the first exit code given is
 * the one the process ends with.
 *
 * @example
 * ```ts
 * import { procExit } from "bgworker/worker";
 * procExit(0);
 * ```
 */
export function procExit(code: number): never {
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw new RangeError(`procExit: exit code must be an integer from 0 to 255; got ${String(code)}`);
  }
  return exitWorker(code);
}
