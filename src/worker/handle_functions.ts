/**
 * The postmaster's handle functions, from inside a worker: the same names
 * and answers as on `Postmaster`, as Promises over the worker's channel.
 * The waits are woken by the notifications the channel receives.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_POSTMASTER_DIED, BGWH_STOPPED } from "../constants.ts";
import { notifyPidRequiredError } from "../errors.ts";
import { type BackgroundWorkerHandle, parseHandle, requireHandle, type WorkerStatus } from "../handle.ts";
import { type BackgroundWorker, encodeWorkerEntry, validateBackgroundWorker } from "../worker_spec.ts";
import { type Answer, request } from "./channel.ts";
import { workerState } from "./state.ts";
import { checkWorkerOptions, type WorkerOptions } from "../worker_options.ts";

/**
 * Register a dynamic worker from this worker. Give `bgw_notify_pid:
 * myProcPid` to be told of its start and exit and to wait for them. Resolves
 * to its handle, or null when no slot is free.
 *
 * @example
 * ```ts
 * import { type BackgroundWorker, myProcPid, registerDynamicBackgroundWorker } from "bgworker/worker";
 * declare const helper: BackgroundWorker;
 * const handle = await registerDynamicBackgroundWorker({ ...helper, bgw_notify_pid: myProcPid });
 * ```
 */
export async function registerDynamicBackgroundWorker(
  worker: BackgroundWorker,
  options?: WorkerOptions,
): Promise<BackgroundWorkerHandle | null> {
  const entry = validateBackgroundWorker(worker, { dynamic: true });
  // Checked here too, so a mistake is thrown where it was made; the postmaster checks again (its cwd, its defaults).
  const checked = checkWorkerOptions(options, entry.bgw_name);
  const { value } = await request("register", {
    worker: encodeWorkerEntry(entry),
    ...(options === undefined ? {} : { options: checked }),
  });
  if (value === null) return null;
  const handle = parseHandle(value);
  if (!handle) throw new Error("registerDynamicBackgroundWorker: the postmaster answered with no handle");
  return Object.freeze(handle);
}

/**
 * A handle's status and pid, asked of the postmaster.
 *
 * @example
 * ```ts
 * import { type BackgroundWorkerHandle, getBackgroundWorkerPid } from "bgworker/worker";
 * declare const handle: BackgroundWorkerHandle;
 * const { status, pid } = await getBackgroundWorkerPid(handle);
 * ```
 */
export async function getBackgroundWorkerPid(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
  const { value } = await request("getpid", { handle: requireHandle(handle) });
  const { status, pid } = value as WorkerStatus;
  return { status, pid };
}

/**
 * Ask the postmaster to terminate a worker (SIGTERM, never restarted).
 *
 * @example
 * ```ts
 * import { type BackgroundWorkerHandle, terminateBackgroundWorker } from "bgworker/worker";
 * declare const handle: BackgroundWorkerHandle;
 * await terminateBackgroundWorker(handle);
 * ```
 */
export async function terminateBackgroundWorker(handle: BackgroundWorkerHandle): Promise<void> {
  await request("terminate", { handle: requireHandle(handle) });
}

/**
 * Wait until a worker this process registered (with `bgw_notify_pid =
 * myProcPid`) has started. `BGWH_POSTMASTER_DIED` if the postmaster dies first.
 *
 * @example
 * ```ts
 * import { type BackgroundWorkerHandle, BGWH_STARTED, waitForBackgroundWorkerStartup } from "bgworker/worker";
 * declare const handle: BackgroundWorkerHandle;
 * const { status, pid } = await waitForBackgroundWorkerStartup(handle);
 * if (status === BGWH_STARTED) console.log("helper runs as", pid);
 * ```
 */
export async function waitForBackgroundWorkerStartup(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
  return await waitForHandle(handle, "waitForBackgroundWorkerStartup", (s) => s.status !== BGWH_NOT_YET_STARTED);
}

/**
 * Wait until a worker this process registered is gone: `BGWH_STOPPED`, or
 * `BGWH_POSTMASTER_DIED` if the postmaster dies first.
 *
 * @example
 * ```ts
 * import { type BackgroundWorkerHandle, terminateBackgroundWorker, waitForBackgroundWorkerShutdown } from "bgworker/worker";
 * declare const handle: BackgroundWorkerHandle;
 * await terminateBackgroundWorker(handle);
 * await waitForBackgroundWorkerShutdown(handle);
 * ```
 */
export async function waitForBackgroundWorkerShutdown(handle: BackgroundWorkerHandle): Promise<number> {
  const result = await waitForHandle(handle, "waitForBackgroundWorkerShutdown", (s) => s.status === BGWH_STOPPED);
  return result.status;
}

/**
 * Ask once, then follow the notifications: the postmaster tells this
 * process of every start and exit of a worker whose notify pid it is, so
 * only the first answer needs a round trip.
 */
async function waitForHandle(
  given: BackgroundWorkerHandle,
  caller: string,
  done: (status: WorkerStatus) => boolean,
): Promise<WorkerStatus> {
  const handle = requireHandle(given);
  const state = workerState();
  let answer: Answer;
  try {
    answer = await request("getpid", { handle });
  } catch (error) {
    if (state.postmasterDead) return { status: BGWH_POSTMASTER_DIED, pid: null };
    throw error;
  }
  const first = answer.value as WorkerStatus & { notifyPid: number; name: string };
  let current: WorkerStatus = { status: first.status, pid: first.pid };
  if (done(current) || current.status === BGWH_STOPPED) return current;
  const myPid = state.port?.pid ?? 0;
  // Without the notifications this would wait forever: say so instead, as the postmaster's waits do.
  if (first.notifyPid !== myPid) {
    throw notifyPidRequiredError(caller, {
      worker: first.name,
      notifyPid: first.notifyPid,
      callerPid: myPid,
      callerName: "this process",
      hint: "bgw_notify_pid: myProcPid",
    });
  }
  const key = `${handle.slot}:${handle.generation}`;
  // Only notifications that came after the answer are news; an older one may describe an earlier state.
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
