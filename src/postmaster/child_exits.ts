/**
 * A worker's process is gone: apply the exit policy, run the crash cycle
 * (SIGQUIT to every other worker, then reinitialize once all are gone),
 * and finish a stop when the last process leaves.
 *
 * @module
 */

import type { WorkerProcess } from "../adapter.ts";
import { BGW_NEVER_RESTART } from "../constants.ts";
import { nextRestart } from "../worker_options.ts";
import { decideExit, type ExitDecision } from "./exit_policy.ts";
import type { PostmasterContext } from "./context.ts";
import { identityOf, workerEvent } from "./events.ts";
import type { WorkerSlot } from "./slot_table.ts";

/**
 * Handles exits and the crash cycle.
 *
 * @example
 * ```ts
 * import { ChildExits } from "./child_exits.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const exits = new ChildExits(ctx);
 * exits.checkAllGone();
 * ```
 */
export class ChildExits {
  readonly #ctx: PostmasterContext;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
  }

  /** A worker's process exited with `code`, or was killed by `signal`. */
  onExit(slot: WorkerSlot, process: WorkerProcess, code: number | null, signal: string | null): void {
    const { table, processes, spares, state } = this.#ctx;
    if (!processes.remove(process)) return;
    spares.scheduleRefill();
    this.#ctx.terminations.cancel(slot);
    table.processGone(slot, process, { code, signal, at: Date.now() });
    this.#ctx.listeners.emit("worker", workerEvent(slot, "exited", { pid: process.pid, code, signal }));
    // Past its memory limit (stopped by the memory check, or ended by its own heap limit): no crash, whatever
    // the signal; restarted as after exit code 1.
    const overLimit = this.#overMemoryLimit(slot, process, signal);
    const decision = decideExit(
      {
        code,
        signal,
        flags: slot.entry.bgw_flags,
        restartTime: slot.entry.bgw_restart_time,
        terminate: slot.terminate,
        killedByPostmaster: slot.killedByPostmaster || overLimit,
        shuttingDown: state.shutdownMode !== null,
        crashCycle: state.current === "crash",
      },
      `background worker "${slot.entry.bgw_type}" (PID ${process.pid})`,
      slot.entry.bgw_type,
    );
    for (const line of decision.log) this.#ctx.log(line.level, line.message, { worker: identityOf(slot, process.pid) });
    // Notifications meant for the dead process have nowhere to go (BackgroundWorkerStopNotifications).
    table.stopNotificationsTo(process.pid);
    this.#ctx.metrics.exited(
      slot.terminate
        ? "terminated"
        : decision.crash
        ? "crash"
        : signal !== null || code === null
        ? "signal"
        : code === 0
        ? "0"
        : "1",
    );
    if (decision.crash) this.#beginCrashCycle();
    this.settle(slot, decision.outcome);
    this.checkAllGone();
  }

  /**
   * Whether the process ended for passing its worker's `memoryLimitMb`: the
   * memory check stopped it, or it died by the signal its runtime raises at
   * the heap limit (said here, since the runtime's own words may have gone
   * to an inherited stderr).
   */
  #overMemoryLimit(slot: WorkerSlot, process: WorkerProcess, signal: string | null): boolean {
    if (slot.overMemoryLimit) return true;
    const limitMb = slot.options.memoryLimitMb;
    if (limitMb === undefined || signal === null || signal !== this.#ctx.adapter.heapLimitSignal) return false;
    this.#ctx.log(
      "LOG",
      `background worker "${slot.entry.bgw_name}" (PID ${process.pid}) reached its heap limit (memoryLimitMb ${limitMb}); counted as exit code 1`,
      { worker: identityOf(slot, process.pid) },
    );
    return true;
  }

  /** What becomes of a slot whose process is gone (or never came): then its notify pid and waiters are told. */
  settle(slot: WorkerSlot, outcome: ExitDecision["outcome"]): void {
    const { table, restarts } = this.#ctx;
    if (outcome === "unregister") {
      this.#ctx.forget(slot);
    } else if (!this.#restartAllowed(slot)) {
      // #restartAllowed marked it failed and said why.
    } else {
      const delayMs = slot.entry.bgw_restart_time * 1000 * this.#backoffFactor(slot);
      // One reading of the clock: the event's time and its restartAt are exactly the interval apart.
      const now = Date.now();
      const restartAt = outcome === "restart_after_interval" ? now + delayMs : null;
      table.waitForRestart(slot, restartAt);
      if (restartAt !== null) {
        this.#ctx.listeners.emit("worker", workerEvent(slot, "restart_scheduled", { restartAt }, now));
        restarts.schedule(slot, delayMs, () => {
          if (!table.inUseNow(slot) || slot.phase !== "restart_wait") return;
          table.readyToStart(slot);
          this.#ctx.maybeStartWorkers();
        });
      }
    }
    this.#ctx.notifier.notify(slot);
  }

  /**
   * The worker's restart policy (option `restart`): count this restart, and
   * refuse it when the intensity is exceeded (the worker is then failed:
   * listed, never started again, its slot free), with a log line and a
   * `failed` event. Crash-cycle restarts count too.
   */
  #restartAllowed(slot: WorkerSlot): boolean {
    const { table } = this.#ctx;
    const policy = slot.options.restart;
    const now = Date.now();
    const resetAfterMs = (policy?.backoff?.resetAfterSeconds ?? Infinity) * 1000;
    const { allowed, restartsInWindow } = nextRestart(slot.entry.bgw_restart_time, policy, {
      consecutive: 1,
      recent: slot.restartTimes,
    }, now);
    if (!allowed) {
      const { maxRestarts, withinSeconds } = policy!.intensity!;
      const reason =
        `restarted ${restartsInWindow} times within ${withinSeconds} s (restart.intensity allows ${maxRestarts})`;
      this.#ctx.log("LOG", `background worker "${slot.entry.bgw_name}" will not be restarted: ${reason}`);
      table.markFailed(slot);
      this.#ctx.listeners.emit("worker", workerEvent(slot, "failed", { reason }));
      return false;
    }
    table.recordRestart(slot, now, slot.lastRunMs < resetAfterMs);
    return true;
  }

  /** Restart backoff: the n-th consecutive restart waits factor^(n-1) times the interval, capped. */
  #backoffFactor(slot: WorkerSlot): number {
    const backoff = slot.options.restart?.backoff;
    if (!backoff || slot.entry.bgw_restart_time === 0) return 1;
    const { delaySeconds } = nextRestart(slot.entry.bgw_restart_time, slot.options.restart, {
      consecutive: slot.consecutiveRestarts,
      recent: [],
    }, Date.now());
    return delaySeconds / slot.entry.bgw_restart_time;
  }

  /** Called whenever a process leaves: the last one finishes a stop or a crash cycle. */
  checkAllGone(): void {
    const ctx = this.#ctx;
    if (ctx.processes.size > 0) return;
    const stopping = ctx.state.shutdownMode !== null;
    if (stopping && ctx.spares.size > 0) return; // spares die with the postmaster
    ctx.killTimer.clear();
    if (stopping) return ctx.finishStop("stop");
    if (ctx.state.current !== "crash") return;
    if (!ctx.options.restartAfterCrash) {
      ctx.log("LOG", `shutting down because "restartAfterCrash" is off`);
      return ctx.finishStop("crash");
    }
    ctx.state.transition(ctx.state.runningState);
    // ResetBackgroundWorkerCrashTimes: restart at once, but forget what must never restart.
    for (const slot of ctx.table.inUse()) {
      ctx.restarts.cancel(slot);
      if (slot.phase === "failed") continue;
      if (slot.terminate || slot.entry.bgw_restart_time === BGW_NEVER_RESTART) {
        ctx.forget(slot);
        ctx.notifier.notify(slot);
      } else {
        ctx.table.readyToStart(slot);
        const now = Date.now();
        ctx.listeners.emit("worker", workerEvent(slot, "restart_scheduled", { restartAt: now }, now));
      }
    }
    ctx.shmem.reinitialize();
    ctx.listeners.emit("shmemStartup", { reinitialized: true });
    ctx.maybeStartWorkers();
  }

  /** SIGKILL to what is left once the kill timer runs out. */
  killRecalcitrant(): void {
    const ctx = this.#ctx;
    if (ctx.processes.size === 0) return;
    ctx.log("LOG", "issuing SIGKILL to recalcitrant children");
    for (const slot of ctx.table.inUse()) if (slot.process) ctx.table.markKilledByPostmaster(slot);
    ctx.processes.signalAll("SIGKILL");
  }

  #beginCrashCycle(): void {
    const ctx = this.#ctx;
    ctx.state.transition("crash");
    ctx.metrics.crashCycle();
    ctx.processes.signalAll("SIGQUIT");
    if (ctx.processes.size > 0) ctx.killTimer.arm();
  }
}
