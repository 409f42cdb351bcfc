/**
 * The worker-side API: who am I, is my postmaster alive, and the handle
 * functions of the postmaster, as Promises over the worker's channel.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_POSTMASTER_DIED, BGWH_STOPPED } from "../constants.ts";
import { notifyPidRequiredError } from "../errors.ts";
import type { BackgroundWorkerHandle, WorkerStatus } from "../handle.ts";
import { type BackgroundWorker, type BackgroundWorkerEntry, encodeWorkerEntry, validateBackgroundWorker } from "../worker_spec.ts";
import { type Answer, request } from "./requests.ts";
import { exitWorker, type Latch, requirePort, workerState } from "./state.ts";

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
 * Called by the bootstrap once the start parameters are rebuilt, so the
 * bindings above are current in this copy of the module too.
 *
 * @example
 * ```ts
 * import { refreshWorkerBindings } from "./api.ts";
 * refreshWorkerBindings();
 * ```
 */
export function refreshWorkerBindings(): void {
  myBgworkerEntry = workerState().entry;
  myProcPid = workerState().port?.pid ?? 0;
}

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
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new RangeError(`procExit: exit code must be an integer from 0 to 255; got ${String(code)}`);
  return exitWorker(code);
}

function plainHandle(handle: BackgroundWorkerHandle): { slot: number; generation: number } {
  return { slot: handle?.slot, generation: handle?.generation };
}

/**
 * Register a dynamic worker from this worker. Give `bgw_notify_pid:
 * myProcPid` to be told of its start and exit and to wait for them. Resolves
 * to its handle, or null when no slot is free.
 *
 * @example
 * ```ts
 * import { myProcPid, registerDynamicBackgroundWorker } from "bgworker/worker";
 * const handle = await registerDynamicBackgroundWorker({ ...helper, bgw_notify_pid: myProcPid });
 * ```
 */
export async function registerDynamicBackgroundWorker(worker: BackgroundWorker): Promise<BackgroundWorkerHandle | null> {
  const entry = validateBackgroundWorker(worker, { dynamic: true });
  const { value } = await request("register", { worker: encodeWorkerEntry(entry) });
  return value === null ? null : Object.freeze(value as BackgroundWorkerHandle);
}

/**
 * A handle's status and pid, asked of the postmaster.
 *
 * @example
 * ```ts
 * import { getBackgroundWorkerPid } from "bgworker/worker";
 * const { status, pid } = await getBackgroundWorkerPid(handle);
 * ```
 */
export async function getBackgroundWorkerPid(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
  const { value } = await request("getpid", { handle: plainHandle(handle) });
  const { status, pid } = value as WorkerStatus;
  return { status, pid };
}

/**
 * Ask the postmaster to terminate a worker (SIGTERM, never restarted).
 *
 * @example
 * ```ts
 * import { terminateBackgroundWorker } from "bgworker/worker";
 * await terminateBackgroundWorker(handle);
 * ```
 */
export async function terminateBackgroundWorker(handle: BackgroundWorkerHandle): Promise<void> {
  await request("terminate", { handle: plainHandle(handle) });
}

/**
 * Wait until a worker this process registered (with `bgw_notify_pid =
 * myProcPid`) has started. `BGWH_POSTMASTER_DIED` if the postmaster dies first.
 *
 * @example
 * ```ts
 * import { BGWH_STARTED, waitForBackgroundWorkerStartup } from "bgworker/worker";
 * const { status, pid } = await waitForBackgroundWorkerStartup(handle);
 * if (status === BGWH_STARTED) console.log("helper runs as", pid);
 * ```
 */
export async function waitForBackgroundWorkerStartup(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
  return await waitForHandle(handle, "waitForBackgroundWorkerStartup", (s) => s.status !== BGWH_NOT_YET_STARTED) as WorkerStatus;
}

/**
 * Wait until a worker this process registered is gone: `BGWH_STOPPED`, or
 * `BGWH_POSTMASTER_DIED` if the postmaster dies first.
 *
 * @example
 * ```ts
 * import { terminateBackgroundWorker, waitForBackgroundWorkerShutdown } from "bgworker/worker";
 * await terminateBackgroundWorker(handle);
 * await waitForBackgroundWorkerShutdown(handle);
 * ```
 */
export async function waitForBackgroundWorkerShutdown(handle: BackgroundWorkerHandle): Promise<number> {
  const result = await waitForHandle(handle, "waitForBackgroundWorkerShutdown", (s) => s.status === BGWH_STOPPED);
  return result.status;
}

async function waitForHandle(
  handle: BackgroundWorkerHandle,
  caller: string,
  done: (status: WorkerStatus) => boolean,
): Promise<WorkerStatus> {
  const state = workerState();
  let answer: Answer;
  try {
    answer = await request("getpid", { handle: plainHandle(handle) });
  } catch (error) {
    if (state.postmasterDead) return { status: BGWH_POSTMASTER_DIED, pid: null };
    throw error;
  }
  const first = answer.value as WorkerStatus & { notifyPid: number; name: string };
  let current: WorkerStatus = { status: first.status, pid: first.pid };
  if (done(current) || current.status === BGWH_STOPPED) return current;
  if (first.notifyPid !== myProcPid) {
    throw notifyPidRequiredError(caller, {
      worker: first.name,
      notifyPid: first.notifyPid,
      callerPid: myProcPid,
      callerName: "this process",
      hint: "bgw_notify_pid: myProcPid",
    });
  }
  const key = `${handle.slot}:${handle.generation}`;
  let seen = answer.seq;
  for (;;) {
    const news = state.news.get(key);
    if (news && news.count > seen) {
      seen = news.count;
      current = { status: news.status, pid: news.pid };
      if (done(current) || current.status === BGWH_STOPPED) return current;
    }
    if (state.postmasterDead) return { status: BGWH_POSTMASTER_DIED, pid: null };
    await new Promise<void>((resolve) => {
      const wake = () => {
        state.newsWatchers.delete(wake);
        state.deathWatchers.delete(wake);
        resolve();
      };
      state.newsWatchers.add(wake);
      state.deathWatchers.add(wake);
    });
  }
}
