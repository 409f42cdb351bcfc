/**
 * The worker option `memoryLimitMb` on the postmaster's side. The runtime's
 * heap limit, set when the worker is spawned, bounds what its JavaScript
 * allocates; this room bounds the rest: the resident memory of each worker
 * with a limit is read at most once a second (from /proc, through the
 * adapter), and a worker past its limit is logged, sent SIGTERM (SIGKILL
 * after `stopTimeoutMs`), and restarted as after exit code 1.
 *
 * @module
 */

import type { TimerId } from "../adapter.ts";
import type { PostmasterContext } from "./context.ts";
import { identityOf } from "./events.ts";
import type { WorkerSlot } from "./slot_table.ts";
import { killAfterStopTimeout } from "./slot_timers.ts";

/** How often the resident memory of limited workers is read: once a second, as the option promises. */
const CHECK_INTERVAL_MS = 1000;

const MIB = 1024 * 1024;

/**
 * The memory check of the workers that have a limit.
 *
 * @example
 * ```ts
 * import { MemoryLimits } from "./memory_limits.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const limits = new MemoryLimits(ctx);
 * limits.watch(); // a worker with memoryLimitMb was launched
 * limits.cancel(); // the postmaster stopped
 * ```
 */
export class MemoryLimits {
  readonly #ctx: PostmasterContext;
  #timer: TimerId | null = null;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
  }

  /** A worker with a limit was launched: the check runs while any such worker has a process. */
  watch(): void {
    if (this.#timer !== null || !this.#ctx.adapter.processUsage) return;
    this.#timer = this.#ctx.adapter.setTimer(CHECK_INTERVAL_MS, () => {
      this.#timer = null;
      this.#check();
    });
  }

  /** Stop checking. */
  cancel(): void {
    if (this.#timer === null) return;
    this.#ctx.adapter.clearTimer(this.#timer);
    this.#timer = null;
  }

  #check(): void {
    const { table, state, adapter } = this.#ctx;
    let watched = 0;
    for (const slot of table.inUse()) {
      const limitMb = slot.options.memoryLimitMb;
      const process = slot.process;
      if (limitMb === undefined || !process) continue;
      watched++;
      // Already on its way out, or the whole cluster is (a stop or a crash cycle): nothing to add.
      if (slot.overMemoryLimit || slot.terminate || !state.isRunning) continue;
      const rssBytes = adapter.processUsage?.(process.pid)?.rssBytes;
      if (rssBytes !== undefined && rssBytes > limitMb * MIB) this.#stopOverLimit(slot, rssBytes, limitMb);
    }
    if (watched > 0) this.watch();
  }

  #stopOverLimit(slot: WorkerSlot, rssBytes: number, limitMb: number): void {
    const ctx = this.#ctx;
    const process = slot.process!;
    const worker = identityOf(slot, process.pid);
    ctx.log(
      "LOG",
      `background worker "${slot.entry.bgw_name}" (PID ${process.pid}) uses ${
        Math.round(rssBytes / MIB)
      } MB of memory, over its memoryLimitMb of ${limitMb}: terminating it`,
      { worker },
    );
    ctx.table.markOverMemoryLimit(slot);
    ctx.processes.signal(process, "SIGTERM");
    killAfterStopTimeout(
      ctx,
      slot,
      process,
      (ms) => `did not exit within ${ms} ms of the SIGTERM for its memory limit`,
    );
  }
}
