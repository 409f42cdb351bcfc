/**
 * What a postmaster tells its own process: events, and the summary of a
 * registered worker.
 *
 * @module
 */

import type { BackgroundWorkerHandle, WorkerStatus } from "../handle.ts";
import type { WorkerNotification } from "./notifier.ts";
import type { WorkerIdentity } from "./options.ts";
import { type ExitRecord, SlotTable, type WorkerSlot, type WorkerState } from "./slot_table.ts";

/**
 * Events a postmaster emits in its own process.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
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
  /** A worker's state changed: for logs, metrics and tools (see {@link WorkerEvent}). */
  worker: WorkerEvent;
}

/**
 * What every worker event says: which worker, and when (epoch ms).
 *
 * @example
 * ```ts
 * import type { WorkerEventBase } from "bgworker";
 * const line = (e: WorkerEventBase) => `${new Date(e.at).toISOString()} ${e.name}`;
 * ```
 */
export interface WorkerEventBase {
  /** The worker's handle. */
  handle: BackgroundWorkerHandle;
  /** Its `bgw_name`. */
  name: string;
  /** Its `bgw_type`. */
  type: string;
  /** When, in epoch milliseconds. */
  at: number;
}

/**
 * One change of a worker's state, as `pm.on("worker", …)` hears it:
 * `registered`, `started` (with its pid), `exited` (pid, exit code, signal),
 * `restart_scheduled` (when it will start again, epoch ms), `failed` (why it
 * will not be restarted) and `unregistered`.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * pm.on("worker", (event) => {
 *   if (event.kind === "exited") console.log(event.name, event.code ?? event.signal);
 * });
 * ```
 */
export type WorkerEvent =
  | (WorkerEventBase & { kind: "registered" })
  | (WorkerEventBase & { kind: "started"; pid: number })
  | (WorkerEventBase & { kind: "exited"; pid: number; code: number | null; signal: string | null })
  | (WorkerEventBase & { kind: "restart_scheduled"; restartAt: number })
  | (WorkerEventBase & { kind: "failed"; reason: string })
  | (WorkerEventBase & { kind: "unregistered" });

/**
 * Who a log line is about: the slot's worker, with its process's pid when it has one.
 *
 * @example
 * ```ts
 * import { identityOf } from "./events.ts";
 * declare const slot: import("./slot_table.ts").WorkerSlot;
 * const context = { worker: identityOf(slot, 1234) };
 * ```
 */
export function identityOf(slot: WorkerSlot, pid: number | null = slot.process?.pid || null): WorkerIdentity {
  return { name: slot.entry.bgw_name, type: slot.entry.bgw_type, pid, slot: slot.slot, generation: slot.generation };
}

/** A worker event's own fields, by kind: what {@link workerEvent} adds to the common ones. */
type EventFields<K extends WorkerEvent["kind"]> = Omit<
  Extract<WorkerEvent, { kind: K }>,
  keyof WorkerEventBase | "kind"
>;

/**
 * Build the event of `kind` about a slot, stamped now.
 *
 * @example
 * ```ts
 * import { workerEvent } from "./events.ts";
 * declare const slot: import("./slot_table.ts").WorkerSlot;
 * const event = workerEvent(slot, "started", { pid: 1234 });
 * ```
 */
export function workerEvent<K extends WorkerEvent["kind"]>(
  slot: WorkerSlot,
  kind: K,
  fields: EventFields<K>,
  at: number = Date.now(),
): WorkerEvent {
  const { bgw_name: name, bgw_type: type } = slot.entry;
  return { kind, handle: SlotTable.handleOf(slot), name, type, at, ...fields } as WorkerEvent;
}

/**
 * One registered worker, as `backgroundWorkers()` lists it.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * for (const w of pm.backgroundWorkers()) console.log(w.bgw_name, w.pid);
 * ```
 */
export interface WorkerSummary extends WorkerStatus {
  /** The worker's handle. */
  handle: BackgroundWorkerHandle;
  /** Its `bgw_name`. */
  bgw_name: string;
  /** Its `bgw_type` (its name when none was given). */
  bgw_type: string;
  /** Registered at run time rather than before or during `start()`. */
  dynamic: boolean;
  /** Where it is: not yet started, starting, running, stopping, waiting for its restart, or failed. */
  state: WorkerState;
  /** How many times it was started again (after exits and crash cycles). */
  restarts: number;
  /** How its last process ended, and when (epoch ms); null before any ended. */
  lastExit: ExitRecord | null;
  /** When its running process reported in (epoch ms); null when none runs. */
  startedAt: number | null;
  /** When a pending restart is due (epoch ms); null when none is pending. */
  nextRestartAt: number | null;
  /** Resident memory of its running process, in bytes; null when none runs or the system does not say. */
  rssBytes: number | null;
  /** CPU time its running process has used, in seconds; null when none runs or the system does not say. */
  cpuSeconds: number | null;
  /**
   * What its running process waits for in `waitLatch`: the name given to
   * `waitEventExtensionNew`, or "Extension" for the default (PostgreSQL's
   * `pg_stat_activity.wait_event`); null when it is not waiting or none
   * runs. Read from shared memory, so only a worker with
   * `BGWORKER_SHMEM_ACCESS` on a cluster with shared memory shows one.
   */
  waitEvent: string | null;
}
