/**
 * Telling who asked: a worker's `bgw_notify_pid` hears of each start and
 * exit (PostgreSQL signals it with SIGUSR1), and the postmaster's own waits
 * (`waitForBackgroundWorkerStartup`/`Shutdown`) are woken.
 *
 * @module
 */

import { notifyPidRequiredError } from "../errors.ts";
import { type BackgroundWorkerHandle, requireHandle, type WorkerStatus } from "../handle.ts";
import type { NotifyMessage } from "../protocol.ts";
import { SlotTable, type WorkerSlot } from "./slot_table.ts";

/**
 * A start or exit of a worker whose `bgw_notify_pid` is the postmaster.
 *
 * @example
 * ```ts
 * import type { WorkerNotification } from "bgworker";
 * const show = (n: WorkerNotification) => `${n.handle.slot}: ${n.status}`;
 * ```
 */
export interface WorkerNotification {
  /** The worker the news is about. */
  handle: BackgroundWorkerHandle;
  /** Its status now: `BGWH_STARTED`, `BGWH_NOT_YET_STARTED` or `BGWH_STOPPED`. */
  status: number;
  /** Its pid while it runs, else null. */
  pid: number | null;
}

interface Waiter {
  check(): WorkerStatus | number | undefined;
  resolve(value: WorkerStatus | number): void;
}

/**
 * Notifications and waiters.
 *
 * @example
 * ```ts
 * import { Notifier } from "./notifier.ts";
 * import { SlotTable } from "./slot_table.ts";
 * const notifier = new Notifier(new SlotTable(8), 1000, (n) => console.log(n));
 * ```
 */
export class Notifier {
  readonly #table: SlotTable;
  readonly #postmasterPid: number;
  readonly #tellPostmaster: (notification: WorkerNotification) => void;
  readonly #waiters = new Set<Waiter>();

  /**
   * @param table the slots
   * @param postmasterPid the pid that means "the postmaster" in `bgw_notify_pid`
   * @param tellPostmaster the postmaster's `notify` event
   */
  constructor(table: SlotTable, postmasterPid: number, tellPostmaster: (notification: WorkerNotification) => void) {
    this.#table = table;
    this.#postmasterPid = postmasterPid;
    this.#tellPostmaster = tellPostmaster;
  }

  /** Tell the registering process, then wake waiters; always after the slot's new state is in place. */
  notify(slot: WorkerSlot): void {
    const handle = SlotTable.handleOf(slot);
    const { status, pid } = SlotTable.statusOf(this.#table.lookup(handle));
    const target = slot.notifyPid;
    if (target !== 0 && this.#table.recordNotified(slot, `${status}:${pid}`)) {
      if (target === this.#postmasterPid) {
        this.#tellPostmaster({ handle, status, pid });
      } else {
        const message: NotifyMessage = { type: "notify", slot: slot.slot, generation: slot.generation, status, pid };
        this.#table.byPid(target)?.process?.send(message);
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

  /**
   * Wait until `check` answers, for a worker registered to tell the
   * postmaster; rejects at once otherwise, instead of waiting forever.
   */
  waitFor<T extends WorkerStatus | number>(
    handle: BackgroundWorkerHandle,
    caller: string,
    check: () => T | undefined,
  ): Promise<T> {
    try {
      const slot = this.#table.lookup(requireHandle(handle));
      if (slot && slot.notifyPid !== this.#postmasterPid) {
        throw notifyPidRequiredError(caller, {
          worker: slot.entry.bgw_name,
          notifyPid: slot.notifyPid,
          callerPid: this.#postmasterPid,
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
    return new Promise((resolve) =>
      this.#waiters.add({ check, resolve: resolve as (value: WorkerStatus | number) => void })
    );
  }
}
