/**
 * Launching workers: PostgreSQL's `maybe_start_bgworkers` and
 * `StartBackgroundWorker`. Decides which registered workers may start now,
 * builds each one's start parameters by value, and hands them to a spare
 * or to a new runtime process.
 *
 * @module
 */

import type { WorkerProcess, WorkerProcessEvents } from "../adapter.ts";
import { BGW_NEVER_RESTART, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS } from "../constants.ts";
import { errorText } from "../errors.ts";
import { resolveLibrary } from "../library_path.ts";
import type { StartMessage } from "../protocol.ts";
import { encodeWorkerEntry, processTitle } from "../worker_spec.ts";
import type { PostmasterContext } from "./context.ts";
import { identityOf } from "./events.ts";
import type { WorkerSlot } from "./slot_table.ts";

/**
 * Where a launched worker's events go, bound to its slot.
 *
 * @example
 * ```ts
 * import type { WorkerEventHandlers } from "./launcher.ts";
 * const handlers: WorkerEventHandlers = { message() {}, assigned() {}, protocolError() {}, exit() {} };
 * ```
 */
export interface WorkerEventHandlers {
  message(slot: WorkerSlot, process: WorkerProcess, message: unknown): void;
  /** A spare was given the worker: its pid exists, as after PostgreSQL's fork, so it counts as started. */
  assigned(slot: WorkerSlot, process: WorkerProcess): void;
  protocolError(slot: WorkerSlot, process: WorkerProcess, reason: string): void;
  exit(slot: WorkerSlot, process: WorkerProcess, code: number | null, signal: string | null): void;
}

/**
 * Starts workers.
 *
 * @example
 * ```ts
 * import { Launcher } from "./launcher.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * declare const handlers: import("./launcher.ts").WorkerEventHandlers;
 * new Launcher(ctx, handlers).maybeStartWorkers();
 * ```
 */
export class Launcher {
  readonly #ctx: PostmasterContext;
  readonly #handlers: WorkerEventHandlers;

  /**
   * @param ctx the postmaster's rooms
   * @param handlers where each worker's events go
   */
  constructor(ctx: PostmasterContext, handlers: WorkerEventHandlers) {
    this.#ctx = ctx;
    this.#handlers = handlers;
  }

  /** Start every registered worker whose start time has come; nothing starts during a crash cycle or a stop. */
  maybeStartWorkers(): void {
    const { state, table, database } = this.#ctx;
    if (!state.isRunning) return;
    for (const slot of table.inUse()) {
      if (slot.phase !== "registered" || slot.terminate || !state.startTimeReached(slot.entry.bgw_start_time)) continue;
      // A worker that connects waits for the cluster: the embedded one starts on first need.
      if ((slot.entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) && !database.ready) {
        void database.ensureStarted().then(() => this.maybeStartWorkers());
        continue;
      }
      this.#launch(slot);
    }
  }

  #launch(slot: WorkerSlot): void {
    const ctx = this.#ctx;
    const start: StartMessage = {
      type: "start",
      entry: encodeWorkerEntry(slot.entry),
      libraryUrl: resolveLibrary(slot.entry.bgw_library_name, ctx.lookup()),
      slot: slot.slot,
      generation: slot.generation,
      postmasterPid: ctx.adapter.pid,
      title: processTitle(slot.entry),
    };
    if (slot.entry.bgw_flags & BGWORKER_SHMEM_ACCESS) start.sharedMemory = ctx.shmem.forWorker();
    if (slot.entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) start.database = ctx.database.forWorker();
    if (slot.cluster) start.cluster = slot.cluster;
    let process: WorkerProcess | null = null;
    let fromSpare = false;
    const events: WorkerProcessEvents = {
      message: (message) => process && this.#handlers.message(slot, process, message),
      protocolError: (reason) => process && this.#handlers.protocolError(slot, process, reason),
      exit: (code, signal) => process && this.#handlers.exit(slot, process, code, signal),
      spawnFailed: (reason) => this.#couldNotFork(slot, reason),
      output: (stream, line, cut) =>
        process &&
        ctx.log("LOG", cut ? `${line} [cut: the line was longer than 1 MiB]` : line, {
          worker: identityOf(slot, process.pid),
          stream,
        }),
    };
    try {
      // A booted spare costs one message; otherwise boot a runtime now. A spare's environment, working
      // directory and heap limit are fixed when it boots, so a worker with its own takes a new process.
      const { env, cwd, memoryLimitMb } = slot.options;
      process = env || cwd || memoryLimitMb ? null : ctx.spares.take(events);
      fromSpare = process !== null;
      if (process) {
        // On the next turn of the loop: the registration's caller (and whoever waits for BGWH_STARTED, which
        // holds now) does not wait for the message's encoding and write.
        const spare = process;
        const send = () => spare.send(start);
        if (ctx.adapter.defer) ctx.adapter.defer(send);
        else void Promise.resolve().then(send);
      } else {
        const captureOutput = ctx.options.workerOutput === "logger";
        process = ctx.adapter.spawn(start, events, { env, cwd, captureOutput, heapLimitMb: memoryLimitMb });
      }
    } catch (error) {
      this.#couldNotFork(slot, errorText(error));
      // As an exit 1: restart after the interval, unless it never restarts.
      const gone = slot.terminate || slot.entry.bgw_restart_time === BGW_NEVER_RESTART;
      ctx.settle(slot, gone ? "unregister" : "restart_after_interval");
      return;
    }
    ctx.table.launched(slot, process);
    ctx.processes.add(process);
    // Its signals stay held until it acknowledges the start (processes.reportedIn), as a booting worker's are.
    if (fromSpare) this.#handlers.assigned(slot, process);
    if (slot.options.memoryLimitMb !== undefined) ctx.memoryChecks.watch();
    ctx.log("DEBUG1", `starting background worker process "${slot.entry.bgw_name}"`, { worker: identityOf(slot) });
  }

  /** PostgreSQL's words when fork() fails; the exit that follows (or the caller) decides what becomes of the slot. */
  #couldNotFork(slot: WorkerSlot, reason: string): void {
    this.#ctx.log("LOG", `could not fork worker process for background worker "${slot.entry.bgw_type}": ${reason}`);
  }
}
