/**
 * Stopping the cluster: PostgreSQL's smart, fast and immediate shutdown,
 * and the end of the postmaster once every process is gone.
 *
 * @module
 */

import type { PostmasterContext } from "./context.ts";
import type { ShutdownMode } from "./pm_state.ts";
import { ShutdownSignals } from "./shutdown_signals.ts";

const SIGNAL_OF_MODE = { fast: "SIGTERM", immediate: "SIGQUIT" } as const;

/**
 * The shutdown sequence and the promise `stop()` returns.
 *
 * @example
 * ```ts
 * import { Shutdown } from "./shutdown.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const shutdown = new Shutdown(ctx);
 * await shutdown.stop("fast");
 * ```
 */
export class Shutdown {
  readonly #ctx: PostmasterContext;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;
  readonly #signals: ShutdownSignals;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#signals = new ShutdownSignals(ctx, (mode) => this.stop(mode));
  }

  /** From `start()` on, the process's SIGTERM, SIGINT and SIGQUIT stop the postmaster (option `handleSignals`). */
  catchSignals(): void {
    this.#signals.catch();
  }

  /** Begin (or strengthen) a stop; resolves when no worker is left. */
  stop(mode: ShutdownMode): Promise<void> {
    const ctx = this.#ctx;
    if (mode !== "smart" && mode !== "fast" && mode !== "immediate") {
      return Promise.reject(
        new TypeError(`stop mode must be "smart", "fast" or "immediate"; got ${String(mode).slice(0, 80)}`),
      );
    }
    if (!ctx.state.shutdownTakesOver(mode)) return this.#stopped;
    ctx.state.transition(`stop_${mode}`);
    ctx.spares.close();
    for (const slot of ctx.table.inUse()) {
      if (!slot.process) {
        ctx.forget(slot);
        ctx.notifier.notify(slot);
      }
    }
    if (mode !== "smart") {
      ctx.processes.signalAll(SIGNAL_OF_MODE[mode]);
      if (ctx.processes.size > 0) ctx.killTimer.arm();
    }
    ctx.checkAllGone();
    return this.#stopped;
  }

  /** Every process is gone: free every slot, remove shared memory, stop the embedded database, and say so. */
  finishStop(reason: "stop" | "crash"): void {
    const ctx = this.#ctx;
    ctx.spares.close();
    ctx.memoryChecks.cancel();
    ctx.shmem.remove();
    for (const slot of ctx.table.inUse()) {
      ctx.forget(slot);
      ctx.notifier.notify(slot); // frees every waiter: a freed slot answers BGWH_STOPPED
    }
    ctx.state.transition("stopped");
    const finish = () => {
      ctx.log("LOG", "database system is shut down");
      this.#resolveStopped();
      ctx.listeners.emit("shutdown", { reason });
      // Last: a stop asked for by a signal may end the process here.
      this.#signals.release();
    };
    // Only an embedded cluster that was started, or a cluster host, has anything to wait for.
    if (!ctx.database.running && !ctx.cluster.enabled) return finish();
    // The host leaves its cluster (so its restartable workers move at once) before the embedded server stops.
    void ctx.cluster.leave().then(() => ctx.database.running ? ctx.database.stop() : undefined).then(finish);
  }
}
