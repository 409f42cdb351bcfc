/**
 * The postmaster's rooms, built and wired once: each gets the shared
 * context, and the context's cross-room operations lead to the room that
 * owns them.
 *
 * @module
 */

import { errorText } from "../errors.ts";
import { resolveLibrary } from "../library_path.ts";
import { Listeners } from "../listeners.ts";
import type { LogLevel } from "../log_level.ts";
import { ChannelRequests } from "./channel_requests.ts";
import { ChildExits } from "./child_exits.ts";
import { ClusterHost } from "./cluster_host.ts";
import type { PostmasterContext } from "./context.ts";
import { DatabaseCluster } from "./database_cluster.ts";
import type { PostmasterEvents } from "./events.ts";
import { KillTimer } from "./kill_timer.ts";
import { Launcher } from "./launcher.ts";
import { LiveProcesses } from "./live_processes.ts";
import { LogRing } from "./log_ring.ts";
import { MemoryLimits } from "./memory_limits.ts";
import { PostmasterMetrics } from "./metrics.ts";
import { Notifier } from "./notifier.ts";
import type { CheckedOptions, LogContext } from "./options.ts";
import { PostmasterState } from "./pm_state.ts";
import { Registrations } from "./registrations.ts";
import { SlotTimers } from "./slot_timers.ts";
import { ClusterSegment } from "./shared_memory.ts";
import { Shutdown } from "./shutdown.ts";
import { SlotTable } from "./slot_table.ts";
import { SparePool } from "./spare_pool.ts";

/**
 * What the facade keeps of the rooms.
 *
 * @example
 * ```ts
 * import type { Rooms } from "./rooms.ts";
 * const slots = (rooms: Rooms) => rooms.ctx.table.size;
 * ```
 */
export interface Rooms {
  ctx: PostmasterContext;
  /** The last log lines, kept when there is a control socket. */
  ring: LogRing | null;
  registrations: Registrations;
  shutdown: Shutdown;
}

/**
 * Build every room of one postmaster from its checked options.
 *
 * @example
 * ```ts
 * import { buildRooms } from "./rooms.ts";
 * import { checkPostmasterOptions } from "./options.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const { ctx } = buildRooms(checkPostmasterOptions({ adapter }));
 * ```
 */
export function buildRooms(o: CheckedOptions): Rooms {
  const adapter = o.adapter;
  const logger = o.logger ?? ((level: LogLevel, message: string, context?: LogContext) => {
    if (level === "DEBUG1") return;
    // PostgreSQL's log_line_prefix idea: a line a worker wrote says whose it is.
    const worker = context?.stream ? context.worker : undefined;
    adapter.writeLog(worker ? `${level}:  [${worker.pid}] ${worker.name}: ${message}` : `${level}:  ${message}`);
  });
  // The control socket's `logs` reads the last lines; without a control socket none are kept.
  const ring = o.controlSocket === null ? null : new LogRing();
  const log = (level: LogLevel, message: string, context?: LogContext) => {
    if (ring && level !== "DEBUG1") {
      const worker = context?.worker ? { name: context.worker.name, pid: context.worker.pid } : null;
      ring.push({ at: Date.now(), level, message, worker });
    }
    try {
      if (context) logger(level, message, context);
      else logger(level, message);
    } catch {
      // A broken logger must not take the postmaster down with it.
    }
  };
  const table = new SlotTable(o.maxWorkerProcesses);
  const listeners = new Listeners<PostmasterEvents>((error) =>
    log("WARNING", `postmaster event listener failed: ${errorText(error)}`)
  );
  const state = new PostmasterState(o.recovery, log);
  const shmem = new ClusterSegment({
    pid: adapter.pid,
    maxWorkerProcesses: o.maxWorkerProcesses,
    loadMapper: () =>
      adapter.sharedMemory?.() ?? Promise.reject(new Error("this runtime adapter offers no shared memory")),
    processExists: (pid) => adapter.processExists?.(pid) ?? true,
    atExit: (callback) => adapter.atExit?.(callback) ?? (() => {}),
    log,
  });
  // The rooms below need each other through the context; they are filled in right after it is built.
  const room = {} as {
    exits: ChildExits;
    launcher: Launcher;
    registrations: Registrations;
    shutdown: Shutdown;
    memory: MemoryLimits;
    cluster: ClusterHost;
  };
  const ctx: PostmasterContext = {
    options: o,
    adapter,
    state,
    table,
    processes: new LiveProcesses(),
    notifier: new Notifier(table, adapter.pid, (notification) => listeners.emit("notify", notification)),
    restarts: new SlotTimers(adapter),
    terminations: new SlotTimers(adapter),
    killTimer: new KillTimer(adapter, o.stopTimeoutMs, () => room.exits.killRecalcitrant()),
    spares: new SparePool(o.spareWorkerProcesses, {
      adapter,
      log,
      spawnOptions: { captureOutput: o.workerOutput === "logger" },
      onSpareGone: () => room.exits.checkAllGone(),
      // Loading the runtime's foreign function interface costs a spare CPU (10 ms on Node 20): only worth it
      // once this cluster has shown it runs workers that map shared memory.
      hasSharedMemory: () => room.registrations.hasSharedMemoryWorkers && !("unavailable" in shmem.forWorker()),
      mayRefill: () => state.isRunning,
      // Resolved when a spare is pinged, as bgw_library_name is at each start: the lookup may change meanwhile.
      libraries: () => o.spareWorkerLibraries.flatMap((name) => resolveLibrary(name, ctx.lookup()) ?? []),
    }),
    shmem,
    database: new DatabaseCluster(o.database, { startEmbedded: adapter.startEmbeddedDatabase?.bind(adapter), log }),
    listeners,
    metrics: new PostmasterMetrics(listeners),
    log,
    lookup: () => ({
      cwd: adapter.cwd(),
      dynamicLibraryPath: o.dynamicLibraryPath,
      fileExists: (path) => adapter.fileExists(path),
    }),
    maybeStartWorkers: () => room.launcher.maybeStartWorkers(),
    registerDynamic: (entry, options, cluster) =>
      room.registrations.registerDynamic(entry, room.registrations.checkOptions(options, entry.bgw_name), cluster),
    get cluster() {
      return room.cluster;
    },
    terminate: (handle) => room.registrations.terminate(handle),
    forget: (slot) => room.registrations.forget(slot),
    settle: (slot, outcome) => room.exits.settle(slot, outcome),
    memoryChecks: { watch: () => room.memory.watch(), cancel: () => room.memory.cancel() },
    checkAllGone: () => room.exits.checkAllGone(),
    finishStop: (reason) => room.shutdown.finishStop(reason),
  };
  room.registrations = new Registrations(ctx);
  room.shutdown = new Shutdown(ctx);
  room.exits = new ChildExits(ctx);
  room.memory = new MemoryLimits(ctx);
  room.cluster = new ClusterHost(ctx);
  const channel = new ChannelRequests(ctx);
  room.launcher = new Launcher(ctx, {
    message: (slot, process, message) => channel.onMessage(slot, process, message),
    assigned: (slot, process) => channel.started(slot, process),
    protocolError: (slot, process, reason) => channel.onProtocolViolation(slot, process, reason),
    exit: (slot, process, code, signal) => room.exits.onExit(slot, process, code, signal),
  });
  return { ctx, ring, registrations: room.registrations, shutdown: room.shutdown };
}
