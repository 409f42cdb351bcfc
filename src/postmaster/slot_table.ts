/**
 * The slot table: `max_worker_processes` slots shared by static and dynamic
 * workers, each with a generation so that a handle to a reused slot is
 * recognised as stale. Every state a slot can be in is listed here.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../constants.ts";
import type { TimerId, WorkerProcess } from "../adapter.ts";
import type { BackgroundWorkerHandle, WorkerStatus } from "../handle.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";

/**
 * Where a registered worker is in its life. A free slot has no phase.
 *
 * - `registered`: waiting for its start time, or for the end of a crash cycle.
 * - `launching`: its process exists but has not reported in yet.
 * - `running`: its process reported in; the handle answers `BGWH_STARTED`.
 * - `restart_wait`: it exited with code 1 (or crashed) and waits for its
 *   restart interval, or for crash reinitialization.
 *
 * @example
 * ```ts
 * import type { SlotPhase } from "./slot_table.ts";
 * const live = (phase: SlotPhase) => phase === "launching" || phase === "running";
 * ```
 */
export type SlotPhase = "registered" | "launching" | "running" | "restart_wait";

/**
 * One slot in use.
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
  phase: SlotPhase;
  /** Whether a process of this registration ever reported in: tells `BGWH_NOT_YET_STARTED` from `BGWH_STOPPED`. */
  everStarted: boolean;
  /** The live process, from spawn until its exit event. */
  process: WorkerProcess | null;
  /** Marked for termination: never restarted, unregistered once gone (PostgreSQL's `rw_terminate`). */
  terminate: boolean;
  /** The postmaster itself killed the process (protocol violation, shutdown): its death is no crash. */
  killedByPostmaster: boolean;
  /** Who is told of starts and exits; cleared when that process exits. */
  notifyPid: number;
  /** Pending restart, in `restart_wait`. */
  restartTimer: TimerId | null;
  /** The status last told to `notifyPid`, as "status:pid": each change is told once. */
  lastNotified: string | null;
}

/**
 * A fixed number of slots, allocated lowest first.
 *
 * @example
 * ```ts
 * import { SlotTable } from "./slot_table.ts";
 * const table = new SlotTable(8);
 * const slot = table.allocate(entry, true);
 * if (slot) console.log(SlotTable.handleOf(slot));
 * ```
 */
export class SlotTable {
  #slots: (WorkerSlot | null)[];
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
  allocate(entry: BackgroundWorkerEntry, dynamic: boolean): WorkerSlot | null {
    const index = this.#slots.indexOf(null);
    if (index < 0) return null;
    const generation = ++this.#generations[index]!;
    const slot: WorkerSlot = {
      slot: index,
      generation,
      entry,
      dynamic,
      phase: "registered",
      everStarted: false,
      process: null,
      terminate: false,
      killedByPostmaster: false,
      notifyPid: entry.bgw_notify_pid,
      restartTimer: null,
      lastNotified: null,
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

  /** The slots in use, in slot order (a copy: safe to release while iterating). */
  inUse(): WorkerSlot[] {
    return this.#slots.filter((s): s is WorkerSlot => s !== null);
  }

  /** A frozen, plain handle for a slot. */
  static handleOf(slot: WorkerSlot): BackgroundWorkerHandle {
    return Object.freeze({ slot: slot.slot, generation: slot.generation });
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
}
