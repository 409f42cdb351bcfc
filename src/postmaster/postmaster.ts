/**
 * The postmaster: PostgreSQL's background worker state machine, driven by a
 * {@link RuntimeAdapter}. This facade holds the public API and wires the
 * rooms together; each concern lives in a file of its own beside it (the
 * state machine, the slot table, the exit policy, launching, the channel,
 * notifications, stopping, spares, shared memory, the database). It never
 * touches a runtime directly.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_STOPPED } from "../constants.ts";
import { type BackgroundWorkerHandle, requireHandle, type WorkerStatus } from "../handle.ts";
import type { BackgroundWorker } from "../worker_spec.ts";
import type { WorkerOptions } from "../worker_options.ts";
import type { PostmasterContext } from "./context.ts";
import type { PostmasterEvents, WorkerSummary } from "./events.ts";
import { ControlSocket } from "./control.ts";
import { checkPostmasterOptions, type CorePostmasterOptions } from "./options.ts";
import type { ShutdownMode } from "./pm_state.ts";
import type { Registrations } from "./registrations.ts";
import { buildRooms } from "./rooms.ts";
import type { Shutdown } from "./shutdown.ts";
import { ClusterApi } from "./cluster_api.ts";
import { SlotTable } from "./slot_table.ts";

export type { CorePostmasterOptions, Logger, PostmasterConstructor, PostmasterOptions } from "./options.ts";
export type { PostmasterEvents, WorkerSummary } from "./events.ts";
export type { WorkerNotification } from "./notifier.ts";
export type { ShutdownMode } from "./pm_state.ts";

/**
 * PostgreSQL's postmaster, reduced to what background workers need.
 *
 * The core class takes its runtime adapter as an option; `mod.ts` exports a
 * `Postmaster` that picks the adapter of the runtime it runs on.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster({ maxWorkerProcesses: 4 });
 * pm.registerBackgroundWorker({
 *   bgw_name: "ticker", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: 5,
 *   bgw_library_name: "./ticker.ts", bgw_function_name: "tickerMain",
 * });
 * await pm.start();
 * await pm.stop("fast");
 * ```
 */
export class Postmaster extends ClusterApi {
  readonly #ctx: PostmasterContext;
  readonly #registrations: Registrations;
  readonly #shutdown: Shutdown;
  readonly #control: ControlSocket;

  /**
   * A postmaster over `options.adapter`; the options are checked here (see {@link PostmasterOptions}).
   *
   * @param options the adapter and the cluster's settings
   */
  constructor(options: CorePostmasterOptions) {
    const rooms = buildRooms(checkPostmasterOptions(options));
    super(rooms.ctx.shmem, rooms.ctx);
    this.#ctx = rooms.ctx;
    this.#registrations = rooms.registrations;
    this.#shutdown = rooms.shutdown;
    this.#control = new ControlSocket(rooms.ctx, {
      workers: () => this.backgroundWorkers(),
      metrics: () => this.metrics(),
      reload: () => this.reloadConfiguration(),
      stop: (mode) => this.stop(mode),
      cluster: async () => ({
        cluster: rooms.ctx.cluster.option?.name ?? null,
        hostId: rooms.ctx.cluster.hostId,
        hosts: await this.clusterHosts(),
        workers: await this.clusterWorkers(),
      }),
    }, rooms.ring);
  }

  /** The postmaster's process id (PostgreSQL's `PostmasterPid`). */
  get pid(): number {
    return this.#ctx.adapter.pid;
  }

  /** Where the control socket listens (option `controlSocket`), from `start()` until `stop()`; null otherwise. */
  get controlSocketPath(): string | null {
    return this.#control.path;
  }

  /** Slots shared by all workers (`max_worker_processes`). */
  get maxWorkerProcesses(): number {
    return this.#ctx.table.size;
  }

  /**
   * Listen to a postmaster event; returns a function that removes the listener.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * const off = pm.on("notify", (n) => console.log(n.status));
   * off();
   * ```
   */
  on<K extends keyof PostmasterEvents>(name: K, listener: (payload: PostmasterEvents[K]) => void): () => void {
    return this.#ctx.listeners.on(name, listener);
  }

  /**
   * Register a static worker. Only before or during `start()` (from a
   * `_PG_init`), as PostgreSQL allows only from `shared_preload_libraries`.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * pm.registerBackgroundWorker({
   *   bgw_name: "static 1", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
   *   bgw_library_name: "./w.ts", bgw_function_name: "main",
   * });
   * ```
   */
  registerBackgroundWorker(worker: BackgroundWorker, options?: WorkerOptions): void {
    this.#registrations.registerStatic(worker, options);
  }

  /**
   * Import the `sharedPreloadLibraries`, call their `_PG_init(pm)`, and start
   * every worker whose start time has come.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * await pm.start();
   * ```
   */
  async start(): Promise<void> {
    const { state, shmem } = this.#ctx;
    if (state.current !== "init") {
      throw new Error(`postmaster cannot start: it is already ${state.isRunning ? "running" : state.current}`);
    }
    // First: a control socket that cannot be opened safely is an error of start(), with nothing begun.
    await this.#control.open();
    state.transition("startup");
    try {
      for (const library of this.#ctx.options.sharedPreloadLibraries) await this.#registrations.preload(library, this);
      if (!state.is("startup")) return; // stop() came during the preloads
      await shmem.create();
      await this.#ctx.cluster.join();
    } catch (error) {
      shmem.remove();
      if (state.is("startup")) state.transition("init");
      await this.#control.close();
      throw error;
    }
    if (!state.is("startup")) return shmem.remove(); // stop() came meanwhile
    state.transition(state.runningState);
    this.#ctx.listeners.emit("shmemStartup", { reinitialized: false });
    this.#shutdown.catchSignals();
    this.#ctx.maybeStartWorkers();
    this.#ctx.spares.scheduleRefill();
  }

  /**
   * Recovery reached a consistent state: start `BgWorkerStart_ConsistentState`
   * workers. Does nothing outside recovery: the state never goes back.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster({ recovery: true });
   * await pm.start();
   * pm.beginHotStandby();
   * ```
   */
  beginHotStandby(): void {
    this.#advanceRecovery("hot_standby");
  }

  /**
   * Recovery finished: normal running; every worker may start.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster({ recovery: true });
   * pm.finishRecovery();
   * ```
   */
  finishRecovery(): void {
    this.#advanceRecovery("run");
  }

  #advanceRecovery(to: "hot_standby" | "run"): void {
    this.#ctx.state.advanceRecovery(to);
    this.#ctx.maybeStartWorkers();
  }

  /**
   * Register a worker at run time. Returns its handle, or null when every
   * slot is taken or the postmaster is shutting down; throws only for an
   * invalid registration.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * const handle = pm.registerDynamicBackgroundWorker({
   *   bgw_name: "job", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
   *   bgw_library_name: "./job.ts", bgw_function_name: "main", bgw_notify_pid: pm.pid,
   * });
   * if (!handle) console.log("no free slot");
   * ```
   */
  registerDynamicBackgroundWorker(worker: BackgroundWorker, options?: WorkerOptions): BackgroundWorkerHandle | null {
    return this.#registrations.registerDynamicFromApplication(worker, options);
  }

  /**
   * A handle's status and pid, as PostgreSQL's `GetBackgroundWorkerPid`.
   *
   * @example
   * ```ts
   * import { BGWH_STARTED, Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * const { status, pid } = pm.getBackgroundWorkerPid({ slot: 0, generation: 1 });
   * if (status === BGWH_STARTED) console.log("running as", pid);
   * ```
   */
  getBackgroundWorkerPid(handle: BackgroundWorkerHandle): WorkerStatus {
    return SlotTable.statusOf(this.#ctx.table.lookup(requireHandle(handle)));
  }

  /**
   * Ask a worker to stop: SIGTERM if it runs, and in every case it is never
   * restarted and is unregistered once gone. A stale handle is ignored.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * pm.terminateBackgroundWorker({ slot: 0, generation: 1 });
   * ```
   */
  terminateBackgroundWorker(handle: BackgroundWorkerHandle): void {
    this.#registrations.terminate(handle);
  }

  /**
   * Wait until a worker has started (or failed to). The worker must have been
   * registered with `bgw_notify_pid = pm.pid`, as PostgreSQL requires;
   * otherwise this rejects at once instead of waiting forever.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * const { status, pid } = await pm.waitForBackgroundWorkerStartup({ slot: 0, generation: 1 });
   * ```
   */
  waitForBackgroundWorkerStartup(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
    return this.#ctx.notifier.waitFor(handle, "waitForBackgroundWorkerStartup", () => {
      const status = this.getBackgroundWorkerPid(handle);
      return status.status === BGWH_NOT_YET_STARTED ? undefined : status;
    });
  }

  /**
   * Wait until a worker is gone (`BGWH_STOPPED`), or the postmaster stopped
   * first (`BGWH_POSTMASTER_DIED`). Same notify requirement as startup.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * const status = await pm.waitForBackgroundWorkerShutdown({ slot: 0, generation: 1 }); // BGWH_STOPPED
   * ```
   */
  waitForBackgroundWorkerShutdown(handle: BackgroundWorkerHandle): Promise<number> {
    return this.#ctx.notifier.waitFor(handle, "waitForBackgroundWorkerShutdown", () => {
      const { status } = this.getBackgroundWorkerPid(handle);
      return status === BGWH_STOPPED ? status : undefined;
    });
  }

  /**
   * Every registered worker and its status.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * console.table(new Postmaster().backgroundWorkers());
   * ```
   */
  backgroundWorkers(): WorkerSummary[] {
    return this.#registrations.summaries();
  }

  /**
   * Where the application connects to the workers' cluster: the `database`
   * option's URL, naming database `dbname` when given. On the embedded
   * cluster this starts it when it is not running yet. The URL is the
   * superuser's: keep it out of logs.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const url = await new Postmaster().connectionUrl("postgres");
   * ```
   */
  connectionUrl(dbname: string | null = null): Promise<string> {
    if (dbname !== null && (typeof dbname !== "string" || dbname === "")) {
      return Promise.reject(new TypeError("connectionUrl: dbname must be a database name or null"));
    }
    return this.#ctx.database.urlFor(dbname);
  }

  /**
   * Send SIGHUP to every running worker, as PostgreSQL's postmaster does on
   * `pg_reload_conf()`: workers that installed a SIGHUP handler with
   * `pqsignal` reload their settings; for the others SIGHUP is ignored.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * new Postmaster().reloadConfiguration();
   * ```
   */
  reloadConfiguration(): void {
    this.#ctx.log("LOG", "received SIGHUP, reloading configuration files");
    this.#ctx.processes.signalAll("SIGHUP");
  }

  /**
   * The cluster's metrics in Prometheus's text exposition format (0.0.4),
   * names prefixed `bgworker_`: workers by state, slots, starts, exits by
   * kind, restarts, crash cycles, failed workers, the registration →
   * `BGWH_STARTED` latency, spares, shared memory, and each running
   * worker's memory and CPU (labelled by name, type and slot).
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const text = new Postmaster().metrics(); // serve it at /metrics
   * ```
   */
  metrics(): string {
    return this.#ctx.metrics.render({
      workers: this.backgroundWorkers(),
      maxWorkerProcesses: this.#ctx.options.maxWorkerProcesses,
      sparesIdle: this.#ctx.spares.size,
      sharedMemory: this.#ctx.shmem.usage(),
    });
  }

  /**
   * Stop the cluster. `smart` refuses new dynamic workers and waits for the
   * running ones to finish; `fast` sends SIGTERM; `immediate` sends SIGQUIT;
   * the last two send SIGKILL to any worker left after `stopTimeoutMs`. A
   * stronger mode given later takes over. Resolves when no worker is left.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * await new Postmaster().stop("fast");
   * ```
   */
  stop(mode: ShutdownMode = "fast"): Promise<void> {
    return this.#shutdown.stop(mode);
  }
}
