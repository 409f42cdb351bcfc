/**
 * `waitLatch`, as PostgreSQL's `WaitLatch` offers it to a background
 * worker: sleep on a latch, together with a timeout and the postmaster's
 * death.
 *
 * @module
 */

import { WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_POSTMASTER_DEATH, WL_TIMEOUT } from "../constants.ts";
import type { Latch } from "./latch.ts";
import { endProcess, workerState } from "./state.ts";
import { checkWaitEventInfo, PG_WAIT_EXTENSION, reportWaitStart } from "./wait_events.ts";

/**
 * Sleep until one of `events` happens, and return the bits of those that did:
 * `WL_LATCH_SET` (the latch is set), `WL_TIMEOUT` (after `timeoutMs`),
 * `WL_POSTMASTER_DEATH` (the postmaster is gone). With `WL_EXIT_ON_PM_DEATH`
 * the process exits with code 1 when the postmaster dies.
 *
 * `waitEventInfo` says what the worker waits for, as PostgreSQL's
 * `wait_event_info`: a number from `waitEventExtensionNew`, or by default
 * `PG_WAIT_EXTENSION` (shown as "Extension"). While the worker sleeps here,
 * the postmaster's `backgroundWorkers()` shows it as the entry's
 * `waitEvent` (for a worker with `BGWORKER_SHMEM_ACCESS`; see
 * `waitEventExtensionNew`). Another number throws a `BackgroundWorkerError`
 * naming `waitEventInfo`.
 *
 * @example
 * ```ts
 * import { myLatch, resetLatch, waitLatch, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_TIMEOUT } from "bgworker/worker";
 * declare function doPeriodicWork(): void;
 * for (;;) {
 *   const rc = await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10_000);
 *   resetLatch(myLatch);
 *   if (rc & WL_TIMEOUT) doPeriodicWork();
 * }
 * ```
 */
export function waitLatch(
  latch: Latch,
  events: number,
  timeoutMs = -1,
  waitEventInfo: number = PG_WAIT_EXTENSION,
): Promise<number> {
  if (waitEventInfo !== PG_WAIT_EXTENSION) checkWaitEventInfo(waitEventInfo);
  const state = workerState();
  const wantsDeath = (events & (WL_POSTMASTER_DEATH | WL_EXIT_ON_PM_DEATH)) !== 0;
  const ready = (): number => {
    let result = 0;
    if ((events & WL_LATCH_SET) && latch.isSet) result |= WL_LATCH_SET;
    if (wantsDeath && state.postmasterDead) {
      if ((events & WL_EXIT_ON_PM_DEATH) && state.port) endProcess(state.port, 1);
      result |= WL_POSTMASTER_DEATH;
    }
    return result;
  };
  const now = ready();
  if (now !== 0) return Promise.resolve(now);
  if ((events & WL_TIMEOUT) && timeoutMs <= 0) return Promise.resolve(WL_TIMEOUT);
  return new Promise((resolve) => {
    let timer: unknown = null;
    // Published only for a wait that sleeps: one that returns at once was never seen waiting.
    const reportWaitEnd = reportWaitStart(waitEventInfo);
    const finish = (result: number) => {
      reportWaitEnd();
      latch.sleepers.delete(wake);
      state.deathWatchers.delete(wake);
      if (timer !== null) state.port?.clearTimer(timer);
      resolve(result);
    };
    const wake = () => {
      const result = ready();
      if (result !== 0) finish(result);
    };
    latch.sleepers.add(wake);
    if (wantsDeath) state.deathWatchers.add(wake);
    // Timers are the port's (setTimeout is not ECMAScript, so the core has none); outside a worker there is no port and no timeout.
    if ((events & WL_TIMEOUT) && state.port) timer = state.port.setTimer(timeoutMs, () => finish(WL_TIMEOUT));
  });
}
