/**
 * The API of code that runs inside a worker process: `bgworker/worker`.
 *
 * @example
 * ```ts
 * import { backgroundWorkerUnblockSignals, myLatch, resetLatch, waitLatch, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from "bgworker/worker";
 *
 * export async function napper(): Promise<void> {
 *   backgroundWorkerUnblockSignals();
 *   for (;;) {
 *     await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000);
 *     resetLatch(myLatch);
 *   }
 * }
 * ```
 *
 * @module
 */

export * from "./src/constants.ts";
export { BackgroundWorkerError } from "./src/errors.ts";
export type { BackgroundWorker, BackgroundWorkerEntry, Datum } from "./src/worker_spec.ts";
export type { BackgroundWorkerHandle, WorkerStatus } from "./src/handle.ts";
export type { SignalName } from "./src/signal_names.ts";
export { Latch, resetLatch, setLatch } from "./src/worker/latch.ts";
export { waitLatch } from "./src/worker/wait_latch.ts";
export { PG_WAIT_EXTENSION, waitEventExtensionNew } from "./src/worker/wait_events.ts";
export { elog } from "./src/worker/elog.ts";
export type { LogLevel } from "./src/log_level.ts";
export type { RestartPolicy, WorkerOptions } from "./src/worker_options.ts";
export {
  backgroundWorkerBlockSignals,
  backgroundWorkerUnblockSignals,
  pqsignal,
  type SignalHandler,
} from "./src/worker/signals.ts";
export { getNamedLWLockTranche, shmemInitStruct } from "./src/worker/shmem.ts";
export {
  backgroundWorkerInitializeConnection,
  backgroundWorkerInitializeConnectionByOid,
  type WorkerConnection,
  type WorkerTransaction,
} from "./src/worker/database.ts";
export type { ShmemStruct } from "./src/shmem/attachment.ts";
export type { LWLock, LWLockMode } from "./src/shmem/lwlock.ts";
export {
  type ClusterPlacement,
  myBgworkerEntry,
  myClusterPlacement,
  myLatch,
  myProcPid,
  postmasterIsAlive,
  procExit,
} from "./src/worker/identity.ts";
export {
  getBackgroundWorkerPid,
  registerDynamicBackgroundWorker,
  terminateBackgroundWorker,
  waitForBackgroundWorkerShutdown,
  waitForBackgroundWorkerStartup,
} from "./src/worker/handle_functions.ts";
