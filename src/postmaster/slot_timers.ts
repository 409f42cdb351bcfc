/**
 * Timers that belong to a slot, one per slot and purpose: a pending restart
 * (a worker that exited with code 1 waits `bgw_restart_time` seconds), or
 * the SIGKILL that follows a terminate the worker did not obey.
 *
 * @module
 */

import type { RuntimeAdapter, TimerId, WorkerProcess } from "../adapter.ts";
import type { PostmasterContext } from "./context.ts";
import { identityOf } from "./events.ts";
import type { WorkerSlot } from "./slot_table.ts";

/**
 * One timer per slot.
 *
 * @example
 * ```ts
 * import { SlotTimers } from "./slot_timers.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * declare const slot: import("./slot_table.ts").WorkerSlot;
 * const restarts = new SlotTimers(adapter);
 * restarts.schedule(slot, 10_000, () => console.log("may start again"));
 * restarts.cancel(slot);
 * ```
 */
export class SlotTimers {
  readonly #adapter: Pick<RuntimeAdapter, "setTimer" | "clearTimer">;
  readonly #timers = new Map<WorkerSlot, TimerId>();

  /** @param adapter the clock */
  constructor(adapter: Pick<RuntimeAdapter, "setTimer" | "clearTimer">) {
    this.#adapter = adapter;
  }

  /** Call `due` after `ms`, replacing the slot's pending timer. */
  schedule(slot: WorkerSlot, ms: number, due: () => void): void {
    this.cancel(slot);
    this.#timers.set(
      slot,
      this.#adapter.setTimer(ms, () => {
        this.#timers.delete(slot);
        due();
      }),
    );
  }

  /** Forget the slot's pending timer, if any. */
  cancel(slot: WorkerSlot): void {
    const timer = this.#timers.get(slot);
    if (timer === undefined) return;
    this.#adapter.clearTimer(timer);
    this.#timers.delete(slot);
  }
}

/**
 * The SIGKILL that follows a SIGTERM the worker does not obey within
 * `stopTimeoutMs` (after a terminate, or for passing its memory limit): the
 * warning says why, then the process is killed, unless it left already.
 *
 * @example
 * ```ts
 * import { killAfterStopTimeout } from "./slot_timers.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * declare const slot: import("./slot_table.ts").WorkerSlot;
 * killAfterStopTimeout(ctx, slot, slot.process!, (ms) => `did not exit within ${ms} ms`);
 * ```
 */
export function killAfterStopTimeout(
  ctx: PostmasterContext,
  slot: WorkerSlot,
  process: WorkerProcess,
  warning: (stopTimeoutMs: number) => string,
): void {
  const stopTimeoutMs = ctx.options.stopTimeoutMs;
  ctx.terminations.schedule(slot, stopTimeoutMs, () => {
    if (slot.process !== process) return;
    ctx.log(
      "WARNING",
      `background worker "${slot.entry.bgw_name}" (PID ${process.pid}) ${warning(stopTimeoutMs)}; sending SIGKILL`,
      { worker: identityOf(slot, process.pid) },
    );
    ctx.table.markKilledByPostmaster(slot);
    ctx.processes.signal(process, "SIGKILL");
  });
}
