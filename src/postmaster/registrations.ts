/**
 * Registering, terminating and forgetting workers: PostgreSQL's
 * `RegisterBackgroundWorker`, `RegisterDynamicBackgroundWorker`,
 * `TerminateBackgroundWorker` and `ForgetBackgroundWorker`, and the
 * `_PG_init` of the preload libraries.
 *
 * @module
 */

import { BGWORKER_SHMEM_ACCESS } from "../constants.ts";
import { BackgroundWorkerError, errorText } from "../errors.ts";
import { type BackgroundWorkerHandle, requireHandle } from "../handle.ts";
import { resolveLibrary } from "../library_path.ts";
import type { WorkerClusterPlacement } from "../protocol.ts";
import { type BackgroundWorkerEntry, validateBackgroundWorker } from "../worker_spec.ts";
import { checkWorkerOptions, type WorkerOptions } from "../worker_options.ts";
import type { PostmasterContext } from "./context.ts";
import { workerEvent, type WorkerSummary } from "./events.ts";
import { SlotTable, type WorkerSlot } from "./slot_table.ts";
import { killAfterStopTimeout } from "./slot_timers.ts";

/**
 * The registry of workers, over the slot table.
 *
 * @example
 * ```ts
 * import { Registrations } from "./registrations.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const registrations = new Registrations(ctx);
 * registrations.summaries(); // []
 * ```
 */
export class Registrations {
  readonly #ctx: PostmasterContext;
  /** A worker with BGWORKER_SHMEM_ACCESS was registered: spares get ready to map shared memory. */
  #sharedMemoryWorkers = false;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
  }

  /** Whether any worker registered so far maps shared memory. */
  get hasSharedMemoryWorkers(): boolean {
    return this.#sharedMemoryWorkers;
  }

  /** A static worker: only before or during `start()`, and over the limit an error, as in PostgreSQL. */
  registerStatic(worker: unknown, options?: unknown): void {
    const ctx = this.#ctx;
    const entry = validateBackgroundWorker(worker, { dynamic: false });
    const checked = this.checkOptions(options, entry.bgw_name);
    if (!ctx.state.acceptsStaticWorkers) {
      throw new BackgroundWorkerError("must be registered in shared_preload_libraries", {
        worker: entry.bgw_name,
        code: "object_not_in_prerequisite_state",
        hint:
          "Register static workers before start() or from a _PG_init(); use registerDynamicBackgroundWorker afterwards.",
      });
    }
    const slot = ctx.table.allocate(entry, false, checked);
    if (!slot) {
      throw new BackgroundWorkerError("too many background workers", {
        worker: entry.bgw_name,
        code: "configuration_limit_exceeded",
        detail: `Up to ${ctx.table.size} background workers can be registered with the current settings.`,
        hint: `Consider increasing the option "maxWorkerProcesses".`,
      });
    }
    this.#registered(slot);
  }

  /** A dynamic worker from the application: its `bgw_notify_pid` must name a process of this cluster. */
  registerDynamicFromApplication(worker: unknown, options?: unknown): BackgroundWorkerHandle | null {
    const ctx = this.#ctx;
    const entry = validateBackgroundWorker(worker, { dynamic: true });
    const checked = this.checkOptions(options, entry.bgw_name);
    const notify = entry.bgw_notify_pid;
    if (notify !== 0 && notify !== ctx.adapter.pid && !ctx.table.byPid(notify)) {
      throw new BackgroundWorkerError("bgw_notify_pid names no process of this cluster", {
        worker: entry.bgw_name,
        field: "bgw_notify_pid",
        code: "invalid_parameter_value",
        detail: `Got ${notify}; it must be 0, the postmaster's pid (${ctx.adapter.pid}) or a running worker's pid.`,
      });
    }
    return this.registerDynamic(entry, checked);
  }

  /**
   * A worker's options, checked and merged over the postmaster's
   * `workerDefaults` (each field of the registration's own replaces the
   * default's); a `cwd` must exist.
   */
  checkOptions(options: unknown, worker: string): Readonly<WorkerOptions> {
    const ctx = this.#ctx;
    const merged = { ...ctx.options.workerDefaults, ...checkWorkerOptions(options, worker) };
    if (merged.cwd !== undefined && ctx.adapter.directoryExists && !ctx.adapter.directoryExists(merged.cwd)) {
      throw new BackgroundWorkerError("cwd is not a directory", {
        worker,
        field: "cwd",
        code: "invalid_parameter_value",
        detail: `No directory at "${merged.cwd.slice(0, 80)}".`,
      });
    }
    return Object.freeze(merged);
  }

  /** A validated dynamic worker (a cluster's, with its placement): null when every slot is taken or the cluster is stopping. */
  registerDynamic(
    entry: BackgroundWorkerEntry,
    options: Readonly<WorkerOptions> = {},
    cluster: WorkerClusterPlacement | null = null,
  ): BackgroundWorkerHandle | null {
    const ctx = this.#ctx;
    if (!ctx.state.acceptsDynamicWorkers) return null;
    const slot = ctx.table.allocate(entry, true, options, cluster);
    if (!slot) return null;
    this.#registered(slot);
    ctx.maybeStartWorkers();
    return SlotTable.handleOf(slot);
  }

  /** SIGTERM if it runs; in every case never restarted and unregistered once gone. A stale handle is ignored. */
  terminate(handle: BackgroundWorkerHandle): void {
    const ctx = this.#ctx;
    const slot = ctx.table.lookup(requireHandle(handle));
    if (!slot || slot.terminate) return;
    ctx.table.markTerminate(slot);
    if (slot.process) {
      const process = slot.process;
      ctx.processes.signal(process, "SIGTERM");
      // PostgreSQL waits forever; a worker whose signals stay blocked would never go, and nothing would say why.
      killAfterStopTimeout(
        ctx,
        slot,
        process,
        (ms) =>
          `did not exit within ${ms} ms of terminateBackgroundWorker; its signals may still be blocked (backgroundWorkerUnblockSignals())`,
      );
    } else {
      this.forget(slot);
      ctx.notifier.notify(slot);
    }
  }

  /** Unregister: cancel its restart and free its slot. */
  forget(slot: WorkerSlot): void {
    this.#ctx.restarts.cancel(slot);
    this.#ctx.terminations.cancel(slot);
    this.#ctx.table.release(slot);
    this.#ctx.log("DEBUG1", `unregistering background worker "${slot.entry.bgw_name}"`);
    this.#ctx.listeners.emit("worker", workerEvent(slot, "unregistered", {}));
  }

  /** Every registered worker and its status. */
  summaries(): WorkerSummary[] {
    const { table, state, adapter, shmem } = this.#ctx;
    const stopping = state.shutdownMode !== null;
    return table.inUse().map((slot) => {
      const usage = slot.process ? adapter.processUsage?.(slot.process.pid) ?? null : null;
      return {
        handle: SlotTable.handleOf(slot),
        bgw_name: slot.entry.bgw_name,
        bgw_type: slot.entry.bgw_type,
        dynamic: slot.dynamic,
        ...SlotTable.statusOf(slot),
        state: SlotTable.stateOf(slot, stopping),
        restarts: Math.max(0, slot.launches - 1),
        lastExit: slot.lastExit,
        startedAt: slot.startedAt,
        nextRestartAt: slot.nextRestartAt,
        rssBytes: usage?.rssBytes ?? null,
        cpuSeconds: usage?.cpuSeconds ?? null,
        // The worker's word in shared memory, signed with its pid: no message per wait, and nothing stale of an earlier process.
        waitEvent: slot.process ? shmem.waitEventOf(slot.slot, slot.process.pid) : null,
      };
    });
  }

  /** Import a preload library and call its `_PG_init(pm)`, which may register static workers. */
  async preload(library: string, pm: unknown): Promise<void> {
    const ctx = this.#ctx;
    const url = resolveLibrary(library, ctx.lookup());
    if (!url) throw new Error(`could not access file "${library}": not found in dynamicLibraryPath`);
    let module: Record<string, unknown>;
    try {
      module = await ctx.adapter.importModule(url);
    } catch (error) {
      throw new Error(`could not load library "${library}": ${errorText(error)}`, { cause: error });
    }
    const init = module._PG_init;
    if (init === undefined) return; // PostgreSQL makes _PG_init optional
    if (typeof init !== "function") throw new TypeError(`library "${library}": _PG_init is not a function`);
    await init(pm);
  }

  #registered(slot: WorkerSlot): void {
    if (slot.entry.bgw_flags & BGWORKER_SHMEM_ACCESS) this.#sharedMemoryWorkers = true;
    this.#ctx.log("DEBUG1", `registering background worker "${slot.entry.bgw_name}"`);
    this.#ctx.listeners.emit("worker", workerEvent(slot, "registered", {}));
  }
}
