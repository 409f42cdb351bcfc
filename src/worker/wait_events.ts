/**
 * Custom wait events, PostgreSQL 17's `WaitEventExtensionNew`: a worker
 * names what it waits for, passes the number to `waitLatch`, and the
 * postmaster's `backgroundWorkers()` shows the name while it waits.
 *
 * A worker that maps shared memory takes its ids from the cluster's table
 * (see src/shmem/wait_event_table.ts), so a name has one number in every
 * such worker, as PostgreSQL's shared hash gives it; and it publishes the
 * event it waits in in its slot's word, which the postmaster reads when
 * asked. A worker without shared memory numbers its names itself and
 * publishes nothing: it loads nothing new for this.
 *
 * @module
 */

import { BackgroundWorkerError } from "../errors.ts";
import {
  MAX_CUSTOM_WAIT_EVENTS,
  MAX_WAIT_EVENT_NAME_BYTES,
  PG_WAIT_EXTENSION,
  WAIT_EVENT_CLASS_MASK,
  WAIT_EVENT_ID_MASK,
} from "../shmem/wait_event_table.ts";
import { isWellFormedUtf16, utf8ByteLength } from "../utf8.ts";
import { workerState } from "./state.ts";

export { PG_WAIT_EXTENSION };

/**
 * A wait event info number for `name`, in PostgreSQL's extension class
 * (`PG_WAIT_EXTENSION | id`), to pass to `waitLatch`: while the worker
 * waits there, the postmaster's `backgroundWorkers()` shows `name` as its
 * `waitEvent`. Asking again for a name gives the same number. In workers
 * registered with `BGWORKER_SHMEM_ACCESS` the number comes from the
 * cluster's shared memory, so it is the same in every such worker (as in
 * PostgreSQL); a worker without shared memory numbers its names on its own,
 * and its waits are not shown. A cluster holds 127 names, as PostgreSQL's.
 *
 * Throws a `BackgroundWorkerError` (field `name`) for a name that is not a
 * string of 1 to 63 UTF-8 bytes, and for a name beyond the 127th
 * (PostgreSQL's "too many custom wait events").
 *
 * @example
 * ```ts
 * import { myLatch, resetLatch, waitEventExtensionNew, waitLatch, WL_EXIT_ON_PM_DEATH, WL_LATCH_SET } from "bgworker/worker";
 * const WAIT_FOR_QUEUE = waitEventExtensionNew("QueueWorkerIdle");
 * await waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, WAIT_FOR_QUEUE);
 * resetLatch(myLatch);
 * ```
 */
export function waitEventExtensionNew(name: string): number {
  const state = workerState();
  const known = typeof name === "string" ? state.waitEventIds.get(name) : undefined;
  if (known !== undefined) return known;
  checkWaitEventName(name);
  // A mapped segment numbers names for the whole cluster; otherwise this process does, in the same range.
  const table = state.shmem?.waitEvents ?? null;
  const localId = state.waitEventIds.size + 1;
  const id = table ? table.idOf(name) : localId <= MAX_CUSTOM_WAIT_EVENTS ? localId : null;
  if (id === null) {
    throw waitEventError("too many custom wait events", "name", {
      code: "configuration_limit_exceeded",
      detail: `A cluster holds ${MAX_CUSTOM_WAIT_EVENTS} custom wait events; "${name}" would be one more.`,
      hint: "Reuse a few names for many waits: the name says what is waited for, not who waits.",
    });
  }
  const info = PG_WAIT_EXTENSION | id;
  state.waitEventIds.set(name, info);
  return info;
}

/**
 * Throw unless `info` is a wait event info of the extension class, as
 * `waitLatch` takes it (`waitEventExtensionNew`'s numbers, and
 * `PG_WAIT_EXTENSION` itself).
 *
 * @example
 * ```ts
 * import { checkWaitEventInfo, PG_WAIT_EXTENSION } from "./wait_events.ts";
 * checkWaitEventInfo(PG_WAIT_EXTENSION); // fine
 * ```
 */
export function checkWaitEventInfo(info: number): void {
  // The class byte is the extension's; of the rest only the 16-bit id may be set (PostgreSQL's WAIT_EVENT_ID_MASK).
  const valid = Number.isInteger(info) && info >= 0 && info <= 0xffffffff &&
    ((info & WAIT_EVENT_CLASS_MASK) >>> 0) === PG_WAIT_EXTENSION &&
    (info & ~(WAIT_EVENT_CLASS_MASK | WAIT_EVENT_ID_MASK)) === 0;
  if (!valid) {
    throw waitEventError(
      `waitEventInfo must be PG_WAIT_EXTENSION or a number from waitEventExtensionNew; got ${describe(info)}`,
      "waitEventInfo",
      { code: "invalid_parameter_value" },
    );
  }
}

/**
 * Publish that this worker now waits in `info` (PostgreSQL's
 * `pgstat_report_wait_start`); the returned function ends that wait
 * (`pgstat_report_wait_end`). Waits may overlap in JavaScript: the newest
 * still in progress is the one shown. Nothing is published by a worker
 * without shared memory.
 *
 * @example
 * ```ts
 * import { PG_WAIT_EXTENSION, reportWaitStart } from "./wait_events.ts";
 * const reportWaitEnd = reportWaitStart(PG_WAIT_EXTENSION);
 * reportWaitEnd();
 * ```
 */
export function reportWaitStart(info: number): () => void {
  const state = workerState();
  const storage = state.waitEventStorage;
  if (!storage) return noWait;
  const wait = { info };
  const waits = state.waitsInProgress;
  waits.push(wait);
  storage.table.publish(storage.slot, info);
  return () => {
    const at = waits.indexOf(wait);
    if (at < 0) return;
    waits.splice(at, 1);
    storage.table.publish(storage.slot, waits.at(-1)?.info ?? 0);
  };
}

const noWait = (): void => {};

function checkWaitEventName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw waitEventError(`wait event name must be a non-empty string; got ${describe(name)}`, "name", {
      code: "invalid_parameter_value",
    });
  }
  if (!isWellFormedUtf16(name)) {
    throw waitEventError("wait event name must be well-formed Unicode (it has a lone surrogate)", "name", {
      code: "invalid_parameter_value",
    });
  }
  const bytes = utf8ByteLength(name);
  if (bytes > MAX_WAIT_EVENT_NAME_BYTES) {
    // PostgreSQL's message (it counts bytes and says characters).
    throw waitEventError(
      `cannot use custom wait event string longer than ${MAX_WAIT_EVENT_NAME_BYTES} characters`,
      "name",
      { code: "invalid_parameter_value", detail: `"${name.slice(0, 20)}…" is ${bytes} bytes in UTF-8.` },
    );
  }
}

function waitEventError(
  message: string,
  field: string,
  options: Pick<ConstructorParameters<typeof BackgroundWorkerError>[1], "code" | "detail" | "hint">,
): BackgroundWorkerError {
  const worker = workerState().entry?.bgw_name ?? "(not a background worker)";
  return new BackgroundWorkerError(message, { worker, field, ...options });
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 70));
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}
