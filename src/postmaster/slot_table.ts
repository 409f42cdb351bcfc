/**
 * The slot table: `max_worker_processes` slots shared by static and dynamic
 * workers, each with a generation so that a handle to a reused slot is
 * recognised as stale. This file is the one place that defines a slot's
 * state and the one place that writes it, as `bgworker.c` keeps
 * `BackgroundWorkerSlot`: every other room reads a slot and asks the table
 * to move it.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../constants.ts";
import type { WorkerProcess } from "../adapter.ts";
import type { BackgroundWorkerHandle, WorkerStatus } from "../handle.ts";
import type { WorkerClusterPlacement } from "../protocol.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import type { WorkerOptions } from "../worker_options.ts";

/**
 * Where a registered worker is in its life. A free slot has no phase.
 *
 * - `registered`: waiting for its start time, or for the end of a crash cycle.
 * - `launching`: its process exists but has not reported in yet.
 * - `running`: its process reported in; the handle answers `BGWH_STARTED`.
 * - `restart_wait`: it exited with code 1 (or crashed) and waits for its
 *   restart interval, or for crash reinitialization.
 * - `failed`: its restart policy's intensity was exceeded: it is listed but
 *   never started again, and its slot is free for a new registration.
 *
 * @example
 * ```ts
 * import type { SlotPhase } from "./slot_table.ts";
 * const live = (phase: SlotPhase) => phase === "launching" || phase === "running";
 * ```
 */
export type SlotPhase = "registered" | "launching" | "running" | "restart_wait" | "failed";

/**
 * One slot in use, read-only outside this file. Its state, all of it:
 *
 * - `phase`: see {@link SlotPhase}.
 * - `everStarted`: a process of this registration reported in once; tells
 *   `BGWH_NOT_YET_STARTED` from `BGWH_STOPPED` (PostgreSQL's slot pid history).
 * - `process`: the live process, from spawn until its exit event.
 * - `terminate`: marked for termination, never restarted, unregistered once
 *   gone (PostgreSQL's `rw_terminate`).
 * - `killedByPostmaster`: the postmaster itself killed the process
 *   (protocol violation, SIGKILL after a timeout): its death is no crash.
 * - `overMemoryLimit`: the postmaster stopped the process for passing the
 *   worker's `memoryLimitMb`: its death counts as exit code 1.
 * - `notifyPid`: who is told of starts and exits; cleared when that process
 *   exits (`BackgroundWorkerStopNotifications`).
 * - `lastNotified`: the status last told, as "status:pid", so each change is
 *   told once.
 * - `launches`: processes started for this registration (restarts are one less).
 * - `startedAt`: epoch ms its running process reported in; null when none runs.
 * - `lastExit`: how its last process ended, and when (epoch ms); null before any.
 * - `nextRestartAt`: epoch ms of a pending restart; null when none is pending.
 * - `options`: the worker's options beyond PostgreSQL's struct (restart policy, env, cwd).
 * - `lastRunMs`: how long its last process ran after reporting in.
 * - `consecutiveRestarts`: restarts since it last ran long enough (restart backoff).
 * - `restartTimes`: when it was restarted lately, epoch ms (restart intensity).
 *
 * @example
 * ```ts
 * import type { WorkerSlot } from "./slot_table.ts";
 * const describe = (s: WorkerSlot) => `${s.entry.bgw_name} is ${s.phase}`;
 * ```
 */
export interface WorkerSlot {
  readonly slot: number;
  readonly generation: number;
  readonly entry: BackgroundWorkerEntry;
  readonly dynamic: boolean;
  readonly phase: SlotPhase;
  readonly everStarted: boolean;
  readonly process: WorkerProcess | null;
  readonly terminate: boolean;
  readonly killedByPostmaster: boolean;
  readonly overMemoryLimit: boolean;
  readonly notifyPid: number;
  readonly lastNotified: string | null;
  readonly launches: number;
  readonly startedAt: number | null;
  readonly lastExit: ExitRecord | null;
  readonly nextRestartAt: number | null;
  readonly options: Readonly<WorkerOptions>;
  /** Where the cluster placed it, for a cluster worker; null for a local one. */
  readonly cluster: WorkerClusterPlacement | null;
  readonly lastRunMs: number;
  readonly consecutiveRestarts: number;
  readonly restartTimes: readonly number[];
}

/**
 * How a worker's process ended: its exit code or the signal, and when.
 *
 * @example
 * ```ts
 * import type { ExitRecord } from "./slot_table.ts";
 * const crashed: ExitRecord = { code: null, signal: "SIGSEGV", at: Date.now() };
 * ```
 */
export interface ExitRecord {
  /** The exit code, or null for a death by signal. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** When, in epoch milliseconds. */
  at: number;
}

/**
 * Where a worker is, as `backgroundWorkers()` says it to a person.
 *
 * @example
 * ```ts
 * import type { WorkerState } from "bgworker";
 * const up = (state: WorkerState) => state === "running";
 * ```
 */
export type WorkerState = "not_yet_started" | "starting" | "running" | "stopping" | "waiting_restart" | "failed";

type MutableSlot = { -readonly [K in keyof WorkerSlot]: WorkerSlot[K] };

/**
 * A fixed number of slots, allocated lowest first, and every change of a
 * slot's state.
 *
 * @example
 * ```ts
 * import { SlotTable } from "./slot_table.ts";
 * import { validateBackgroundWorker } from "../worker_spec.ts";
 * const entry = validateBackgroundWorker({
 *   bgw_name: "w", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
 *   bgw_library_name: "./w.ts", bgw_function_name: "main",
 * }, { dynamic: true });
 * const table = new SlotTable(8);
 * const slot = table.allocate(entry, true);
 * if (slot) console.log(SlotTable.handleOf(slot));
 * ```
 */
export class SlotTable {
  #slots: (MutableSlot | null)[];
  /** Generations survive a slot being freed, so a reused slot never repeats one. */
  #generations: number[];

  /** @param size number of slots (`maxWorkerProcesses`) */
  constructor(size: number) {
    this.#slots = new Array(size).fill(null);
    this.#generations = new Array(size).fill(0);
  }

  /** Number of slots. */
  get size(): number {
    return this.#slots.length;
  }

  /** Take the lowest free slot for an entry, or return null when all are in use. */
  allocate(
    entry: BackgroundWorkerEntry,
    dynamic: boolean,
    options: Readonly<WorkerOptions> = {},
    cluster: WorkerClusterPlacement | null = null,
  ): WorkerSlot | null {
    // A failed worker stays listed, but its slot counts as free: a new registration takes it over.
    let index = this.#slots.indexOf(null);
    if (index < 0) index = this.#slots.findIndex((s) => s?.phase === "failed");
    if (index < 0) return null;
    const generation = ++this.#generations[index]!;
    const slot: MutableSlot = {
      slot: index,
      generation,
      entry,
      dynamic,
      phase: "registered",
      everStarted: false,
      process: null,
      terminate: false,
      killedByPostmaster: false,
      overMemoryLimit: false,
      notifyPid: entry.bgw_notify_pid,
      lastNotified: null,
      launches: 0,
      startedAt: null,
      lastExit: null,
      nextRestartAt: null,
      options,
      cluster,
      lastRunMs: 0,
      consecutiveRestarts: 0,
      restartTimes: [],
    };
    this.#slots[index] = slot;
    return slot;
  }

  /** The slot a handle names, or null when it is free or was reused since. */
  lookup(handle: BackgroundWorkerHandle): WorkerSlot | null {
    const slot = this.#slots[handle.slot];
    return slot && slot.generation === handle.generation ? slot : null;
  }

  /** Free a slot; its handles answer `BGWH_STOPPED` from now on. */
  release(slot: WorkerSlot): void {
    if (this.#slots[slot.slot] === slot) this.#slots[slot.slot] = null;
  }

  /** Whether the slot is still the one in use at its index. */
  inUseNow(slot: WorkerSlot): boolean {
    return this.#slots[slot.slot] === slot;
  }

  /** The slots in use, in slot order (a copy: safe to release while iterating). */
  inUse(): WorkerSlot[] {
    return this.#slots.filter((s): s is MutableSlot => s !== null);
  }

  /** The slot whose live process has this pid. */
  byPid(pid: number): WorkerSlot | undefined {
    return this.inUse().find((slot) => slot.process?.pid === pid);
  }

  /** A process was created for the slot: it has not reported in yet. */
  launched(slot: WorkerSlot, process: WorkerProcess): void {
    const s = this.#own(slot);
    s.process = process;
    s.phase = "launching";
    s.killedByPostmaster = false;
    s.overMemoryLimit = false;
    s.launches++;
    s.nextRestartAt = null;
  }

  /** The slot's process reported in at `at` (epoch ms): `BGWH_STARTED` from now on. */
  reportedIn(slot: WorkerSlot, at: number): void {
    const s = this.#own(slot);
    s.phase = "running";
    s.everStarted = true;
    s.startedAt = at;
  }

  /** The slot's process is gone, as `exit` says. */
  processGone(slot: WorkerSlot, process: WorkerProcess, exit: ExitRecord): void {
    const s = this.#own(slot);
    if (s.process !== process) return;
    s.lastRunMs = s.startedAt === null ? 0 : exit.at - s.startedAt;
    s.process = null;
    s.startedAt = null;
    s.lastExit = exit;
  }

  /** The worker waits for its restart interval (until `restartAt`, epoch ms) or for the end of a crash cycle (null). */
  waitForRestart(slot: WorkerSlot, restartAt: number | null = null): void {
    const s = this.#own(slot);
    s.phase = "restart_wait";
    s.nextRestartAt = restartAt;
  }

  /** The worker may start again when its start time allows. */
  readyToStart(slot: WorkerSlot): void {
    const s = this.#own(slot);
    s.phase = "registered";
    s.nextRestartAt = null;
  }

  /** A restart is on its way (at `at`, epoch ms); `streak` is false when the worker had run long enough to start the count anew. */
  recordRestart(slot: WorkerSlot, at: number, streak: boolean): void {
    const s = this.#own(slot);
    s.consecutiveRestarts = streak ? s.consecutiveRestarts + 1 : 1;
    // Enough history for any intensity window that matters; older entries cannot count.
    s.restartTimes = [...s.restartTimes.slice(-999), at];
  }

  /** The restart policy gave up: listed as failed, its slot free for the next registration. */
  markFailed(slot: WorkerSlot): void {
    const s = this.#own(slot);
    s.phase = "failed";
    s.nextRestartAt = null;
  }

  /** Never restart the worker; unregister it once gone. */
  markTerminate(slot: WorkerSlot): void {
    this.#own(slot).terminate = true;
  }

  /** The postmaster kills the worker's process itself: its death is no crash. */
  markKilledByPostmaster(slot: WorkerSlot): void {
    this.#own(slot).killedByPostmaster = true;
  }

  /** The postmaster stops the worker's process for passing its memory limit: its death counts as exit code 1. */
  markOverMemoryLimit(slot: WorkerSlot): void {
    this.#own(slot).overMemoryLimit = true;
  }

  /** A process exited: notifications meant for it have nowhere to go. */
  stopNotificationsTo(pid: number): void {
    for (const slot of this.#slots) if (slot && slot.notifyPid === pid) slot.notifyPid = 0;
  }

  /** Record what was last told to the slot's notify pid; false when it was told already. */
  recordNotified(slot: WorkerSlot, news: string): boolean {
    const s = this.#own(slot);
    if (s.lastNotified === news) return false;
    s.lastNotified = news;
    return true;
  }

  /** A frozen, plain handle for a slot. */
  static handleOf(slot: WorkerSlot): BackgroundWorkerHandle {
    return Object.freeze({ slot: slot.slot, generation: slot.generation });
  }

  /** Where the worker is, for a person; `stopping` while the postmaster stops. */
  static stateOf(slot: WorkerSlot, stopping: boolean): WorkerState {
    switch (slot.phase) {
      case "launching":
        return "starting";
      case "running":
        return slot.terminate || stopping ? "stopping" : "running";
      case "restart_wait":
        return "waiting_restart";
      case "registered":
        return slot.everStarted ? "waiting_restart" : "not_yet_started";
      case "failed":
        return "failed";
    }
  }

  /** The status a handle to this slot reports; null means free or reused. */
  static statusOf(slot: WorkerSlot | null): WorkerStatus {
    if (!slot) return { status: BGWH_STOPPED, pid: null };
    if (slot.phase === "running" && slot.process) return { status: BGWH_STARTED, pid: slot.process.pid };
    if (!slot.everStarted && (slot.phase === "registered" || slot.phase === "launching")) {
      return { status: BGWH_NOT_YET_STARTED, pid: null };
    }
    return { status: BGWH_STOPPED, pid: null };
  }

  /** The table's own, writable record of a slot it handed out. */
  #own(slot: WorkerSlot): MutableSlot {
    return slot as MutableSlot;
  }
}
