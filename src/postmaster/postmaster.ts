/**
 * The postmaster: PostgreSQL's background worker state machine, driven by a
 * {@link RuntimeAdapter}. It decides when workers start, what an exit means
 * (unregister, restart, or crash of the whole cluster), who is told, and how
 * the cluster stops. It never touches a runtime directly.
 *
 * @module
 */

import type { RuntimeAdapter, WorkerProcess, WorkerProcessEvents } from "../adapter.ts";
import {
  BGW_NEVER_RESTART,
  BGWH_NOT_YET_STARTED,
  BGWH_STOPPED,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_SHMEM_ACCESS,
} from "../constants.ts";
import { DatabaseCluster, type DatabaseClusterOption, validateDatabaseOption } from "./database_cluster.ts";
import { BackgroundWorkerError, errorText, notifyPidRequiredError } from "../errors.ts";
import { resolveLibrary } from "../library_path.ts";
import { Listeners } from "../listeners.ts";
import {
  type NotifyMessage,
  parseWorkerMessage,
  type RequestMessage,
  type StartMessage,
  toWireError,
} from "../protocol.ts";
import { type BackgroundWorkerHandle, requireHandle, type WorkerStatus } from "../handle.ts";
import { SlotTable, type WorkerSlot } from "./slot_table.ts";
import type { LogLevel } from "../log_level.ts";
import type { ShmemStruct } from "../shmem/attachment.ts";
import { ClusterSegment } from "./shared_memory.ts";
import type { LWLock } from "../shmem/lwlock.ts";
import { SparePool } from "./spare_pool.ts";
import { describeSignal, type SignalName } from "../signal_names.ts";
import {
  type BackgroundWorker,
  decodeWorkerEntry,
  encodeWorkerEntry,
  isStartTimeReached,
  processTitle,
  validateBackgroundWorker,
} from "../worker_spec.ts";

/**
 * Receives every log line, with PostgreSQL's wording, before formatting.
 *
 * @example
 * ```ts
 * import type { Logger } from "./postmaster.ts";
 * const quiet: Logger = (level, message) => { if (level !== "DEBUG1") console.error(message); };
 * ```
 */
export type Logger = (level: LogLevel, message: string) => void;

/**
 * How `stop()` ends the cluster: `smart` waits for workers to finish, `fast`
 * sends SIGTERM, `immediate` sends SIGQUIT. The last two send SIGKILL to
 * what is left after `stopTimeoutMs`.
 *
 * @example
 * ```ts
 * import type { ShutdownMode } from "./postmaster.ts";
 * const mode: ShutdownMode = "fast";
 * ```
 */
export type ShutdownMode = "smart" | "fast" | "immediate";

/**
 * Options of the {@link Postmaster}.
 *
 * @example
 * ```ts
 * import type { PostmasterOptions } from "./postmaster.ts";
 * const options: PostmasterOptions = { maxWorkerProcesses: 4, restartAfterCrash: true };
 * ```
 */
export interface PostmasterOptions {
  /** Slots shared by static and dynamic workers (`max_worker_processes`); default 8. */
  maxWorkerProcesses?: number;
  /** Modules imported at `start()`; each exported `_PG_init(pm)` is called and may register static workers. */
  sharedPreloadLibraries?: string[];
  /** Directories searched for bare `bgw_library_name` values, in order. */
  dynamicLibraryPath?: string[];
  /** After a crash of a shared-memory worker, restart the workers (`restart_after_crash`); default true. */
  restartAfterCrash?: boolean;
  /** Begin in recovery: only `BgWorkerStart_PostmasterStart` workers start until `beginHotStandby()`. */
  recovery?: boolean;
  /** Milliseconds between SIGTERM (or SIGQUIT) and SIGKILL in `stop()` and crash handling; default 5000, PostgreSQL's SIGKILL_CHILDREN_AFTER_SECS. */
  stopTimeoutMs?: number;
  /** Replaces the default logger, which writes LOG and WARNING lines through the adapter. */
  logger?: Logger;
  /**
   * Runtime processes kept booted and waiting, so that a worker starts with
   * one message instead of a runtime boot; default 0. Each spare serves one
   * worker, is replaced in the background, counts against nothing, and dies
   * with the postmaster.
   */
  spareWorkerProcesses?: number;
  /**
   * The PostgreSQL cluster of workers registered with
   * `BGWORKER_BACKEND_DATABASE_CONNECTION`: `{ url }` for a real server, or
   * the default `{ embedded: { dataDir? } }`, PGlite served on a loopback
   * port by this process, started when the first such worker is about to
   * start. Workers get the connection parameters by value; the URL's
   * password never appears in titles or logs.
   */
  database?: DatabaseClusterOption;
}

/**
 * Options of the core {@link Postmaster}: the public options plus the runtime adapter.
 *
 * @example
 * ```ts
 * import type { CorePostmasterOptions } from "./postmaster.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const options: CorePostmasterOptions = { adapter, maxWorkerProcesses: 2 };
 * ```
 */
export interface CorePostmasterOptions extends PostmasterOptions {
  /** The runtime the postmaster drives processes with. */
  adapter: RuntimeAdapter;
}

/**
 * A start or exit of a worker whose `bgw_notify_pid` is the postmaster.
 *
 * @example
 * ```ts
 * import type { WorkerNotification } from "./postmaster.ts";
 * const show = (n: WorkerNotification) => `${n.handle.slot}: ${n.status}`;
 * ```
 */
export interface WorkerNotification {
  handle: BackgroundWorkerHandle;
  status: number;
  pid: number | null;
}

/**
 * Events a postmaster emits in its own process.
 *
 * @example
 * ```ts
 * pm.on("notify", ({ handle, status }) => console.log(handle, status));
 * pm.on("shutdown", ({ reason }) => console.log(reason));
 * ```
 */
export interface PostmasterEvents extends Record<string, unknown> {
  /** A worker registered with `bgw_notify_pid = pm.pid` started or stopped. */
  notify: WorkerNotification;
  /** The postmaster stopped, by `stop()` or because a crash with `restartAfterCrash: false` ended it. */
  shutdown: { reason: "stop" | "crash" };
  /**
   * The shared memory segment was just created, at `start()` or (zeroed)
   * after a crash, and no worker has started on it yet: PostgreSQL's
   * `shmem_startup_hook`, the place to set up named structs.
   */
  shmemStartup: { reinitialized: boolean };
}

/**
 * One registered worker, as `backgroundWorkers()` lists it.
 *
 * @example
 * ```ts
 * for (const w of pm.backgroundWorkers()) console.log(w.bgw_name, w.pid);
 * ```
 */
export interface WorkerSummary extends WorkerStatus {
  handle: BackgroundWorkerHandle;
  bgw_name: string;
  bgw_type: string;
  dynamic: boolean;
}

type Lifecycle = "init" | "starting" | "running" | "stopping" | "stopped";
type ClusterState = "recovery" | "hot_standby" | "run";

const SHUTDOWN_RANK: Record<ShutdownMode, number> = { smart: 1, fast: 2, immediate: 3 };

interface Waiter {
  check(): WorkerStatus | number | undefined;
  resolve(value: WorkerStatus | number): void;
}

/**
 * PostgreSQL's postmaster, reduced to what background workers need.
 *
 * The core class takes its runtime adapter as an option; `mod.ts` exports a
 * `Postmaster` that picks the adapter of the runtime it runs on.
 *
 * @example
 * ```ts
 * import { Postmaster } from "./postmaster.ts";
 * const pm = new Postmaster({ adapter, maxWorkerProcesses: 4 });
 * pm.registerBackgroundWorker({
 *   bgw_name: "ticker", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: 5,
 *   bgw_library_name: "./ticker.ts", bgw_function_name: "tickerMain",
 * });
 * await pm.start();
 * await pm.stop("fast");
 * ```
 */
export class Postmaster {
  readonly #adapter: RuntimeAdapter;
  readonly #table: SlotTable;
  readonly #sharedPreloadLibraries: readonly string[];
  readonly #dynamicLibraryPath: readonly string[];
  readonly #restartAfterCrash: boolean;
  readonly #stopTimeoutMs: number;
  readonly #logger: Logger;
  readonly #listeners: Listeners<PostmasterEvents>;

  #lifecycle: Lifecycle = "init";
  #cluster: ClusterState;
  /** A shared-memory worker crashed; the others are being stopped (PostgreSQL's FatalError). */
  #fatalError = false;
  #shutdownMode: ShutdownMode | null = null;
  #killTimer: unknown = null;
  #live = new Set<WorkerProcess>();
  /**
   * Processes that have not reported in yet, and the signals held for them.
   * A PostgreSQL worker starts with signals blocked; a runtime still booting
   * has no handlers yet, and a SIGTERM or SIGHUP would kill it outright
   * (and, with shared memory access, count as a crash). So the postmaster
   * holds them until the worker says it is up. SIGKILL is never held.
   */
  #booting = new Map<WorkerProcess, Set<SignalName>>();
  #waiters = new Set<Waiter>();
  readonly #spares: SparePool;
  readonly #shmem: ClusterSegment;
  readonly #database: DatabaseCluster;
  /** A worker with BGWORKER_SHMEM_ACCESS was registered: spares get ready to map shared memory. */
  #sharedMemoryWorkers = false;
  readonly #spareTarget: number;
  #refillTimer: unknown = null;
  #stopped: Promise<void>;
  #resolveStopped!: () => void;

  /**
   * @param options the adapter and the cluster's settings
   */
  constructor(options: CorePostmasterOptions) {
    const max = options.maxWorkerProcesses ?? 8;
    if (!Number.isInteger(max) || max < 0 || max > 262_143) {
      throw new RangeError(`maxWorkerProcesses must be an integer from 0 to 262143; got ${String(max)}`);
    }
    const timeout = options.stopTimeoutMs ?? 5000;
    if (!Number.isFinite(timeout) || timeout < 0) {
      throw new RangeError(`stopTimeoutMs must be a non-negative number of milliseconds; got ${String(timeout)}`);
    }
    const spares = options.spareWorkerProcesses ?? 0;
    if (!Number.isInteger(spares) || spares < 0 || spares > 1024) {
      throw new RangeError(`spareWorkerProcesses must be an integer from 0 to 1024; got ${String(spares)}`);
    }
    this.#adapter = options.adapter;
    this.#spareTarget = spares;
    this.#spares = new SparePool(spares, {
      adapter: options.adapter,
      log: (level, message) => this.#log(level, message),
      onSpareGone: () => this.#checkAllGone(),
      // Loading the runtime's foreign function interface costs a spare CPU (10 ms on Node 20): only worth it
      // once this cluster has shown it runs workers that map shared memory.
      hasSharedMemory: () => this.#sharedMemoryWorkers && !("unavailable" in this.#shmem.forWorker()),
    });
    this.#database = new DatabaseCluster(validateDatabaseOption(options.database), {
      startEmbedded: (settings) => options.adapter.startEmbeddedDatabase?.(settings) ?? Promise.reject(new Error("this runtime adapter has no embedded database; give the postmaster a PostgreSQL URL")),
      log: (level, message) => this.#log(level, message),
    });
    this.#shmem = new ClusterSegment({
      pid: options.adapter.pid,
      loadMapper: () => options.adapter.sharedMemory?.() ?? Promise.reject(new Error("this runtime adapter offers no shared memory")),
      processExists: (pid) => options.adapter.processExists?.(pid) ?? true,
      atExit: (callback) => options.adapter.atExit?.(callback) ?? (() => {}),
      log: (level, message) => this.#log(level, message),
    });
    this.#table = new SlotTable(max);
    this.#sharedPreloadLibraries = [...(options.sharedPreloadLibraries ?? [])];
    this.#dynamicLibraryPath = [...(options.dynamicLibraryPath ?? [])];
    this.#restartAfterCrash = options.restartAfterCrash ?? true;
    this.#stopTimeoutMs = timeout;
    this.#cluster = options.recovery ? "recovery" : "run";
    this.#logger = options.logger ?? ((level, message) => {
      if (level !== "DEBUG1") this.#adapter.writeLog(`${level}:  ${message}`);
    });
    this.#listeners = new Listeners((error) => this.#log("WARNING", `postmaster event listener failed: ${errorText(error)}`));
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
  }

  /** The postmaster's process id (PostgreSQL's `PostmasterPid`). */
  get pid(): number {
    return this.#adapter.pid;
  }

  /** Slots shared by all workers (`max_worker_processes`). */
  get maxWorkerProcesses(): number {
    return this.#table.size;
  }

  /**
   * Listen to a postmaster event; returns a function that removes the listener.
   *
   * @example
   * ```ts
   * const off = pm.on("notify", (n) => console.log(n.status));
   * off();
   * ```
   */
  on<K extends keyof PostmasterEvents>(name: K, listener: (payload: PostmasterEvents[K]) => void): () => void {
    return this.#listeners.on(name, listener);
  }

  /**
   * Register a static worker. Only before or during `start()` (from a
   * `_PG_init`), as PostgreSQL allows only from `shared_preload_libraries`.
   *
   * @example
   * ```ts
   * pm.registerBackgroundWorker({
   *   bgw_name: "static 1", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
   *   bgw_library_name: "./w.ts", bgw_function_name: "main",
   * });
   * ```
   */
  registerBackgroundWorker(worker: BackgroundWorker): void {
    const entry = validateBackgroundWorker(worker, { dynamic: false });
    if (this.#lifecycle !== "init" && this.#lifecycle !== "starting") {
      throw new BackgroundWorkerError("must be registered in shared_preload_libraries", {
        worker: entry.bgw_name,
        code: "object_not_in_prerequisite_state",
        hint: "Register static workers before start() or from a _PG_init(); use registerDynamicBackgroundWorker afterwards.",
      });
    }
    const slot = this.#table.allocate(entry, false);
    if (slot && (entry.bgw_flags & BGWORKER_SHMEM_ACCESS)) this.#sharedMemoryWorkers = true;
    if (!slot) {
      throw new BackgroundWorkerError("too many background workers", {
        worker: entry.bgw_name,
        code: "configuration_limit_exceeded",
        detail: `Up to ${this.#table.size} background workers can be registered with the current settings.`,
        hint: `Consider increasing the option "maxWorkerProcesses".`,
      });
    }
    this.#log("DEBUG1", `registering background worker "${entry.bgw_name}"`);
  }

  /**
   * Import the `sharedPreloadLibraries`, call their `_PG_init(pm)`, and start
   * every worker whose start time has come.
   *
   * @example
   * ```ts
   * await pm.start();
   * ```
   */
  async start(): Promise<void> {
    if (this.#lifecycle !== "init") throw new Error(`postmaster cannot start: it is already ${this.#lifecycle}`);
    this.#lifecycle = "starting";
    try {
      for (const library of this.#sharedPreloadLibraries) await this.#preload(library);
    } catch (error) {
      this.#lifecycle = "init";
      throw error;
    }
    if (this.#lifecycle !== "starting") return; // stop() came during the preloads
    try {
      await this.#shmem.create();
    } catch (error) {
      this.#lifecycle = "init";
      throw error;
    }
    if (this.#lifecycle !== "starting") return this.#shmem.remove(); // stop() came meanwhile
    this.#lifecycle = "running";
    this.#listeners.emit("shmemStartup", { reinitialized: false });
    this.#logClusterState();
    this.#maybeStartWorkers();
    this.#refillSpares();
  }

  async #preload(library: string): Promise<void> {
    const url = resolveLibrary(library, this.#lookup());
    if (!url) throw new Error(`could not access file "${library}": not found in dynamicLibraryPath`);
    let module: Record<string, unknown>;
    try {
      module = await this.#adapter.importModule(url);
    } catch (error) {
      throw new Error(`could not load library "${library}": ${errorText(error)}`, { cause: error });
    }
    const init = module._PG_init;
    if (init === undefined) return; // PostgreSQL makes _PG_init optional
    if (typeof init !== "function") throw new TypeError(`library "${library}": _PG_init is not a function`);
    await init(this);
  }

  /**
   * Recovery reached a consistent state: start `BgWorkerStart_ConsistentState`
   * workers. Does nothing outside recovery: the state never goes back.
   *
   * @example
   * ```ts
   * const pm = new Postmaster({ adapter, recovery: true });
   * await pm.start();
   * pm.beginHotStandby();
   * ```
   */
  beginHotStandby(): void {
    if (this.#cluster !== "recovery") return;
    this.#cluster = "hot_standby";
    if (this.#lifecycle === "running") this.#logClusterState();
    this.#maybeStartWorkers();
  }

  /**
   * Recovery finished: normal running; every worker may start.
   *
   * @example
   * ```ts
   * pm.finishRecovery();
   * ```
   */
  finishRecovery(): void {
    if (this.#cluster === "run") return;
    this.#cluster = "run";
    if (this.#lifecycle === "running") this.#logClusterState();
    this.#maybeStartWorkers();
  }

  /**
   * Register a worker at run time. Returns its handle, or null when every
   * slot is taken or the postmaster is shutting down; throws only for an
   * invalid registration.
   *
   * @example
   * ```ts
   * const handle = pm.registerDynamicBackgroundWorker({ ...worker, bgw_notify_pid: pm.pid });
   * if (!handle) console.log("no free slot");
   * ```
   */
  registerDynamicBackgroundWorker(worker: BackgroundWorker): BackgroundWorkerHandle | null {
    const entry = validateBackgroundWorker(worker, { dynamic: true });
    const notify = entry.bgw_notify_pid;
    if (notify !== 0 && notify !== this.pid && !this.#workerByPid(notify)) {
      throw new BackgroundWorkerError("bgw_notify_pid names no process of this cluster", {
        worker: entry.bgw_name,
        field: "bgw_notify_pid",
        code: "invalid_parameter_value",
        detail: `Got ${notify}; it must be 0, the postmaster's pid (${this.pid}) or a running worker's pid.`,
      });
    }
    return this.#registerDynamic(entry);
  }

  #registerDynamic(entry: ReturnType<typeof validateBackgroundWorker>): BackgroundWorkerHandle | null {
    if (this.#lifecycle === "stopping" || this.#lifecycle === "stopped") return null;
    const slot = this.#table.allocate(entry, true);
    if (!slot) return null;
    if (entry.bgw_flags & BGWORKER_SHMEM_ACCESS) this.#sharedMemoryWorkers = true;
    this.#log("DEBUG1", `registering background worker "${entry.bgw_name}"`);
    this.#maybeStartWorkers();
    return SlotTable.handleOf(slot);
  }

  /**
   * A handle's status and pid, as PostgreSQL's `GetBackgroundWorkerPid`.
   *
   * @example
   * ```ts
   * const { status, pid } = pm.getBackgroundWorkerPid(handle);
   * if (status === BGWH_STARTED) console.log("running as", pid);
   * ```
   */
  getBackgroundWorkerPid(handle: BackgroundWorkerHandle): WorkerStatus {
    return SlotTable.statusOf(this.#table.lookup(requireHandle(handle)));
  }

  /**
   * Ask a worker to stop: SIGTERM if it runs, and in every case it is never
   * restarted and is unregistered once gone. A stale handle is ignored.
   *
   * @example
   * ```ts
   * pm.terminateBackgroundWorker(handle);
   * await pm.waitForBackgroundWorkerShutdown(handle);
   * ```
   */
  terminateBackgroundWorker(handle: BackgroundWorkerHandle): void {
    const slot = this.#table.lookup(requireHandle(handle));
    if (!slot || slot.terminate) return;
    slot.terminate = true;
    if (slot.process) {
      this.#signal(slot.process, "SIGTERM");
    } else {
      this.#forget(slot);
      this.#notify(slot);
    }
  }

  /**
   * Wait until a worker has started (or failed to). The worker must have been
   * registered with `bgw_notify_pid = pm.pid`, as PostgreSQL requires;
   * otherwise this rejects at once instead of waiting forever.
   *
   * @example
   * ```ts
   * const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
   * ```
   */
  waitForBackgroundWorkerStartup(handle: BackgroundWorkerHandle): Promise<WorkerStatus> {
    return this.#waitFor(handle, "waitForBackgroundWorkerStartup", () => {
      const status = this.getBackgroundWorkerPid(handle);
      return status.status === BGWH_NOT_YET_STARTED ? undefined : status;
    }) as Promise<WorkerStatus>;
  }

  /**
   * Wait until a worker is gone (`BGWH_STOPPED`), or the postmaster stopped
   * first (`BGWH_POSTMASTER_DIED`). Same notify requirement as startup.
   *
   * @example
   * ```ts
   * pm.terminateBackgroundWorker(handle);
   * const status = await pm.waitForBackgroundWorkerShutdown(handle); // BGWH_STOPPED
   * ```
   */
  waitForBackgroundWorkerShutdown(handle: BackgroundWorkerHandle): Promise<number> {
    return this.#waitFor(handle, "waitForBackgroundWorkerShutdown", () => {
      const { status } = this.getBackgroundWorkerPid(handle);
      return status === BGWH_STOPPED ? status : undefined;
    }) as Promise<number>;
  }

  #waitFor(
    handle: BackgroundWorkerHandle,
    caller: string,
    check: () => WorkerStatus | number | undefined,
  ): Promise<WorkerStatus | number> {
    try {
      const slot = this.#table.lookup(requireHandle(handle));
      if (slot && slot.notifyPid !== this.pid) {
        throw notifyPidRequiredError(caller, {
          worker: slot.entry.bgw_name,
          notifyPid: slot.notifyPid,
          callerPid: this.pid,
          callerName: "the postmaster's pid",
          hint: "bgw_notify_pid: pm.pid",
        });
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // A stopped postmaster has freed every slot, so check() answers at once then.
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => this.#waiters.add({ check, resolve }));
  }

  /**
   * Every registered worker and its status.
   *
   * @example
   * ```ts
   * console.table(pm.backgroundWorkers());
   * ```
   */
  backgroundWorkers(): WorkerSummary[] {
    return this.#table.inUse().map((slot) => ({
      handle: SlotTable.handleOf(slot),
      bgw_name: slot.entry.bgw_name,
      bgw_type: slot.entry.bgw_type,
      dynamic: slot.dynamic,
      ...SlotTable.statusOf(slot),
    }));
  }

  /**
   * Where the application connects to the workers' cluster: the `database`
   * option's URL, naming database `dbname` when given. On the embedded
   * cluster this starts it (and that database's server) when it is not
   * running yet. The URL is the superuser's: keep it out of logs.
   *
   * @example
   * ```ts
   * import postgres from "postgres";
   * const sql = postgres(await pm.connectionUrl("postgres"));
   * console.log(await sql`select * from schema1.counted`);
   * ```
   */
  connectionUrl(dbname: string | null = null): Promise<string> {
    if (dbname !== null && (typeof dbname !== "string" || dbname === "")) {
      return Promise.reject(new TypeError("connectionUrl: dbname must be a database name or null"));
    }
    return this.#database.urlFor(dbname);
  }

  /**
   * Send SIGHUP to every running worker, as PostgreSQL's postmaster does on
   * `pg_reload_conf()`: workers that installed a SIGHUP handler with
   * `pqsignal` reload their settings; for the others SIGHUP is ignored.
   *
   * @example
   * ```ts
   * await writeFile("settings.json", JSON.stringify({ naptime: 5 }));
   * pm.reloadConfiguration();
   * ```
   */
  reloadConfiguration(): void {
    this.#log("LOG", "received SIGHUP, reloading configuration files");
    this.#signalAll("SIGHUP");
  }

  /**
   * Reserve `bytes` of shared memory for named structs: PostgreSQL's
   * `RequestAddinShmemSpace`. Only before `start()` or from a `_PG_init`.
   * Each struct takes whole 4 KiB pages of it; a few pages of slack are
   * added, as PostgreSQL adds its own.
   *
   * @example
   * ```ts
   * export function _PG_init(pm: Postmaster) {
   *   pm.requestAddinShmemSpace(8192);
   *   pm.requestNamedLWLockTranche("my extension", 1);
   * }
   * ```
   */
  requestAddinShmemSpace(bytes: number): void {
    this.#shmem.requestAddinShmemSpace(bytes);
  }

  /**
   * Ask for `count` lightweight locks under `name`: PostgreSQL's
   * `RequestNamedLWLockTranche`. Only before `start()` or from a
   * `_PG_init`; the postmaster and workers with `BGWORKER_SHMEM_ACCESS`
   * find them with `getNamedLWLockTranche(name)`.
   *
   * @example
   * ```ts
   * pm.requestNamedLWLockTranche("counters", 1);
   * ```
   */
  requestNamedLWLockTranche(name: string, count: number): void {
    this.#shmem.requestNamedLWLockTranche(name, count);
  }

  /**
   * Find or create a named struct in shared memory: PostgreSQL's
   * `ShmemInitStruct`. Every process asking for the same name gets the same
   * bytes; `found` is false for the one that created it (zeroed). Available
   * from the `shmemStartup` event on; after a crash the segment is new and
   * structs must be asked for again.
   *
   * @example
   * ```ts
   * pm.on("shmemStartup", () => {
   *   const { buffer, found } = pm.shmemInitStruct("counters", 64);
   *   if (!found) new Int32Array(buffer)[0] = 100;
   * });
   * await pm.start();
   * ```
   */
  shmemInitStruct(name: string, size: number): ShmemStruct {
    return this.#shmem.attachment("shmemInitStruct").initStruct(name, size);
  }

  /**
   * The locks of a tranche requested in `_PG_init`: PostgreSQL's
   * `GetNamedLWLockTranche`. Acquiring blocks the calling thread, so the
   * postmaster had better use `conditionalAcquire`.
   *
   * @example
   * ```ts
   * const [lock] = pm.getNamedLWLockTranche("counters");
   * if (lock.conditionalAcquire("shared")) try { read(); } finally { lock.release(); }
   * ```
   */
  getNamedLWLockTranche(name: string): LWLock[] {
    return this.#shmem.attachment("getNamedLWLockTranche").tranche(name);
  }

  /**
   * Stop the cluster. `smart` refuses new dynamic workers and waits for the
   * running ones to finish; `fast` sends SIGTERM; `immediate` sends SIGQUIT;
   * the last two send SIGKILL to any worker left after `stopTimeoutMs`. A
   * stronger mode given later takes over. Resolves when no worker is left.
   *
   * @example
   * ```ts
   * await pm.stop("fast");
   * ```
   */
  stop(mode: ShutdownMode = "fast"): Promise<void> {
    if (!(mode in SHUTDOWN_RANK)) return Promise.reject(new TypeError(`stop mode must be "smart", "fast" or "immediate"; got ${String(mode)}`));
    if (this.#lifecycle === "stopped") return this.#stopped;
    if (this.#shutdownMode && SHUTDOWN_RANK[mode] <= SHUTDOWN_RANK[this.#shutdownMode]) return this.#stopped;
    this.#shutdownMode = mode;
    this.#lifecycle = "stopping";
    this.#spares.close();
    this.#log("LOG", `received ${mode} shutdown request`);
    for (const slot of this.#table.inUse()) {
      if (!slot.process) {
        this.#forget(slot);
        this.#notify(slot);
      }
    }
    if (mode !== "smart") {
      this.#signalAll(mode === "fast" ? "SIGTERM" : "SIGQUIT");
      this.#armKillTimer();
    }
    this.#checkAllGone();
    return this.#stopped;
  }

  // ---- starting workers ---------------------------------------------------

  #maybeStartWorkers(): void {
    if (this.#lifecycle !== "running" || this.#fatalError) return;
    for (const slot of this.#table.inUse()) {
      if (slot.phase === "registered" && !slot.terminate && isStartTimeReached(slot.entry.bgw_start_time, this.#cluster)) {
        // A worker that connects waits for the cluster: the embedded one starts on first need.
        if ((slot.entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) && !this.#database.ready) {
          void this.#database.ensureStarted().then(() => this.#maybeStartWorkers());
          continue;
        }
        this.#launch(slot);
      }
    }
  }

  #launch(slot: WorkerSlot): void {
    const start: StartMessage = {
      type: "start",
      entry: encodeWorkerEntry(slot.entry),
      libraryUrl: resolveLibrary(slot.entry.bgw_library_name, this.#lookup()),
      slot: slot.slot,
      generation: slot.generation,
      postmasterPid: this.pid,
      title: processTitle(slot.entry),
    };
    if (slot.entry.bgw_flags & BGWORKER_SHMEM_ACCESS) start.sharedMemory = this.#shmem.forWorker();
    if (slot.entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION) start.database = this.#database.forWorker();
    let process: WorkerProcess | null = null;
    const events: WorkerProcessEvents = {
      message: (message) => process && this.#onMessage(slot, process, message),
      protocolError: (reason) => process && this.#onProtocolViolation(slot, process, reason),
      exit: (code, signal) => process && this.#onExit(slot, process, code, signal),
    };
    try {
      // A booted spare costs one message; otherwise boot a runtime now.
      process = this.#spares.take(events);
      if (process) process.send(start);
      else process = this.#adapter.spawn(start, events);
    } catch (error) {
      this.#log("LOG", `could not fork worker process for background worker "${slot.entry.bgw_type}": ${errorText(error)}`);
      this.#afterExit(slot, 1);
      return;
    }
    slot.process = process;
    slot.phase = "launching";
    slot.killedByPostmaster = false;
    this.#live.add(process);
    this.#booting.set(process, new Set());
    this.#log("DEBUG1", `starting background worker process "${slot.entry.bgw_name}"`);
  }

  #lookup() {
    return {
      cwd: this.#adapter.cwd(),
      dynamicLibraryPath: this.#dynamicLibraryPath,
      fileExists: (path: string) => this.#adapter.fileExists(path),
    };
  }

  // ---- messages from workers ----------------------------------------------

  #onMessage(slot: WorkerSlot, process: WorkerProcess, raw: unknown): void {
    if (slot.process !== process) return;
    const message = parseWorkerMessage(raw);
    if ("invalid" in message) return this.#onProtocolViolation(slot, process, message.invalid);
    if (message.type === "started") {
      if (slot.phase !== "launching") return this.#onProtocolViolation(slot, process, "reported its start twice");
      slot.phase = "running";
      slot.everStarted = true;
      const held = this.#booting.get(process) ?? [];
      this.#booting.delete(process);
      for (const signal of held) process.kill(signal);
      this.#refillSpares();
      this.#notify(slot);
      return;
    }
    if (message.type === "log") return this.#log(message.level, message.message);
    if (message.type === "ready") return; // a cold-started worker's runtime booted: "started" follows
    this.#onRequest(slot, process, message);
  }

  #onRequest(requester: WorkerSlot, process: WorkerProcess, request: RequestMessage): void {
    const reply = (value: unknown) => process.send({ type: "reply", id: request.id, ok: true, value });
    try {
      switch (request.op) {
        case "register": {
          const entry = decodeWorkerEntry(request.worker, { dynamic: true });
          if (entry.bgw_notify_pid !== 0 && entry.bgw_notify_pid !== process.pid) {
            throw new BackgroundWorkerError("bgw_notify_pid must be 0 or the registering worker's own pid", {
              worker: entry.bgw_name,
              field: "bgw_notify_pid",
              code: "invalid_parameter_value",
              detail: `Got ${entry.bgw_notify_pid}; the registering worker "${requester.entry.bgw_name}" has pid ${process.pid}.`,
            });
          }
          return reply(this.#registerDynamic(entry));
        }
        case "getpid": {
          const slot = this.#table.lookup(request.handle);
          return reply({ ...SlotTable.statusOf(slot), notifyPid: slot ? slot.notifyPid : 0, name: slot ? slot.entry.bgw_name : "(stale handle)" });
        }
        case "terminate":
          this.terminateBackgroundWorker(request.handle);
          return reply(null);
        case "database":
          if (!(requester.entry.bgw_flags & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
            throw new Error("database connection requirement not indicated during registration");
          }
          this.#database.urlFor(request.dbname, request.role).then(reply, (error) => process.send({ type: "reply", id: request.id, ok: false, error: toWireError(error) }));
          return;
      }
    } catch (error) {
      process.send({ type: "reply", id: request.id, ok: false, error: toWireError(error) });
    }
  }

  #onProtocolViolation(slot: WorkerSlot, process: WorkerProcess, reason: string): void {
    if (slot.process !== process || slot.killedByPostmaster) return;
    this.#log("WARNING", `background worker "${slot.entry.bgw_type}" (PID ${process.pid}) broke the protocol on its channel: ${reason}; terminating it`);
    slot.terminate = true;
    slot.killedByPostmaster = true;
    process.kill("SIGKILL");
  }

  // ---- exits ----------------------------------------------------------------

  #onExit(slot: WorkerSlot, process: WorkerProcess, code: number | null, signal: string | null): void {
    if (!this.#live.delete(process)) return;
    this.#booting.delete(process);
    this.#refillSpares();
    if (slot.process === process) slot.process = null;
    const name = `background worker "${slot.entry.bgw_type}" (PID ${process.pid})`;
    if (signal === "SIGTERM") {
      // bgworker's default SIGTERM handler ends a worker by raising SIGTERM again with the operating
      // system's action (src/worker/signals.ts): dying of it is PostgreSQL's FATAL line and exit 1.
      this.#log("FATAL", `terminating background worker "${slot.entry.bgw_type}" due to administrator command`);
      code = 1;
      signal = null;
    }
    if (signal !== null || code === null) {
      this.#log("LOG", `${name} was terminated by ${describeSignal(signal ?? "unknown")}`);
    } else {
      this.#log(code === 0 ? "DEBUG1" : "LOG", `${name} exited with exit code ${code}`);
    }
    // Notifications meant for the dead process have nowhere to go (BackgroundWorkerStopNotifications).
    for (const other of this.#table.inUse()) if (other.notifyPid === process.pid) other.notifyPid = 0;

    if (this.#shutdownMode) {
      this.#forget(slot);
      this.#notify(slot);
      return this.#checkAllGone();
    }
    if (this.#fatalError) {
      slot.phase = "restart_wait";
      this.#notify(slot);
      return this.#checkAllGone();
    }
    const abnormal = signal !== null || code === null || (code !== 0 && code !== 1);
    if (abnormal && !slot.killedByPostmaster && (slot.entry.bgw_flags & BGWORKER_SHMEM_ACCESS)) {
      slot.phase = "restart_wait";
      this.#handleCrash();
      this.#notify(slot);
      return this.#checkAllGone();
    }
    this.#afterExit(slot, code === 0 ? 0 : 1);
  }

  /** Exit 0 unregisters; exit 1 (or a crash without shared memory) restarts after the interval, unless terminated or BGW_NEVER_RESTART. */
  #afterExit(slot: WorkerSlot, code: 0 | 1): void {
    if (code === 0 || slot.terminate || slot.entry.bgw_restart_time === BGW_NEVER_RESTART) {
      this.#forget(slot);
    } else {
      slot.phase = "restart_wait";
      slot.restartTimer = this.#adapter.setTimer(slot.entry.bgw_restart_time * 1000, () => {
        slot.restartTimer = null;
        if (slot.phase !== "restart_wait") return;
        slot.phase = "registered";
        this.#maybeStartWorkers();
      });
    }
    this.#notify(slot);
  }

  #handleCrash(): void {
    this.#fatalError = true;
    this.#log("LOG", "terminating any other active server processes");
    this.#signalAll("SIGQUIT");
    this.#armKillTimer();
  }

  #checkAllGone(): void {
    if (this.#live.size > 0) return;
    if (this.#shutdownMode && this.#spares.size > 0) return; // spares die with the postmaster
    this.#clearKillTimer();
    if (this.#shutdownMode) return this.#finishStop("stop");
    if (!this.#fatalError) return;
    if (!this.#restartAfterCrash) {
      this.#log("LOG", `shutting down because "restartAfterCrash" is off`);
      return this.#finishStop("crash");
    }
    this.#log("LOG", "all server processes terminated; reinitializing");
    // ResetBackgroundWorkerCrashTimes: restart at once, but forget what must never restart.
    for (const slot of this.#table.inUse()) {
      this.#clearRestartTimer(slot);
      if (slot.terminate || slot.entry.bgw_restart_time === BGW_NEVER_RESTART) {
        this.#forget(slot);
        this.#notify(slot);
      } else {
        slot.phase = "registered";
      }
    }
    this.#fatalError = false;
    this.#shmem.reinitialize();
    this.#listeners.emit("shmemStartup", { reinitialized: true });
    this.#maybeStartWorkers();
  }

  #finishStop(reason: "stop" | "crash"): void {
    this.#spares.close();
    this.#shmem.remove();
    for (const slot of this.#table.inUse()) {
      this.#forget(slot);
      this.#notify(slot); // frees every waiter: a freed slot answers BGWH_STOPPED
    }
    this.#lifecycle = "stopped";
    const finish = () => {
      this.#log("LOG", "database system is shut down");
      this.#resolveStopped();
      this.#listeners.emit("shutdown", { reason });
    };
    // Only an embedded cluster that was started has anything to wait for.
    if (this.#database.running) void this.#database.stop().then(finish);
    else finish();
  }

  // ---- helpers --------------------------------------------------------------

  #forget(slot: WorkerSlot): void {
    this.#clearRestartTimer(slot);
    this.#table.release(slot);
    this.#log("DEBUG1", `unregistering background worker "${slot.entry.bgw_name}"`);
  }

  #clearRestartTimer(slot: WorkerSlot): void {
    if (slot.restartTimer !== null) this.#adapter.clearTimer(slot.restartTimer);
    slot.restartTimer = null;
  }

  /** Tell the registering process, then wake waiters; always after the slot's new state is in place. */
  #notify(slot: WorkerSlot): void {
    const handle = SlotTable.handleOf(slot);
    const { status, pid } = this.getBackgroundWorkerPid(handle);
    const target = slot.notifyPid;
    const news = `${status}:${pid}`;
    if (target !== 0 && news !== slot.lastNotified) {
      slot.lastNotified = news;
      if (target === this.pid) {
        this.#listeners.emit("notify", { handle, status, pid });
      } else {
        const message: NotifyMessage = { type: "notify", slot: slot.slot, generation: slot.generation, status, pid };
        this.#workerByPid(target)?.process?.send(message);
      }
    }
    for (const waiter of this.#waiters) {
      const value = waiter.check();
      if (value !== undefined) {
        this.#waiters.delete(waiter);
        waiter.resolve(value);
      }
    }
  }

  #workerByPid(pid: number): WorkerSlot | undefined {
    return this.#table.inUse().find((slot) => slot.process?.pid === pid);
  }

  /**
   * Top up the spares, on a later turn of the event loop: spawning blocks
   * the loop for a moment, and whoever waits for the worker that just
   * reported in (or for the postmaster to start) must hear of it first.
   */
  #refillSpares(): void {
    if (this.#refillTimer !== null || this.#spares.size >= this.#spareTarget) return;
    this.#refillTimer = this.#adapter.setTimer(0, () => {
      this.#refillTimer = null;
      if (this.#lifecycle === "running") this.#spares.fill();
    });
  }

  /** Signal a worker process, holding all but SIGKILL while it boots (see #booting). */
  #signal(process: WorkerProcess, signal: SignalName): void {
    const held = this.#booting.get(process);
    if (held && signal !== "SIGKILL") held.add(signal);
    else process.kill(signal);
  }

  #signalAll(signal: "SIGTERM" | "SIGQUIT" | "SIGKILL" | "SIGHUP"): void {
    for (const process of this.#live) this.#signal(process, signal);
  }

  #armKillTimer(): void {
    if (this.#killTimer !== null || this.#live.size === 0) return;
    this.#killTimer = this.#adapter.setTimer(this.#stopTimeoutMs, () => {
      this.#killTimer = null;
      if (this.#live.size === 0) return;
      this.#log("LOG", "issuing SIGKILL to recalcitrant children");
      for (const slot of this.#table.inUse()) if (slot.process) slot.killedByPostmaster = true;
      this.#signalAll("SIGKILL");
    });
  }

  #clearKillTimer(): void {
    if (this.#killTimer !== null) this.#adapter.clearTimer(this.#killTimer);
    this.#killTimer = null;
  }

  #logClusterState(): void {
    this.#log("LOG", this.#cluster === "run"
      ? "database system is ready to accept connections"
      : this.#cluster === "hot_standby"
      ? "database system is ready to accept read-only connections"
      : "database system is in recovery");
  }

  #log(level: LogLevel, message: string): void {
    try {
      this.#logger(level, message);
    } catch {
      // A broken logger must not take the postmaster down with it.
    }
  }
}
