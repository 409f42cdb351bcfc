/**
 * Handles: the plain, copyable `{ slot, generation }` pairs that name a
 * registered worker on both sides of the channel, and the status a handle
 * answers with.
 *
 * @module
 */

import { BackgroundWorkerError } from "./errors.ts";

/**
 * A plain, copyable reference to a registered worker: it can be sent to
 * another process and compared by value.
 *
 * @example
 * ```ts
 * import type { BackgroundWorkerHandle } from "bgworker";
 * const handle: BackgroundWorkerHandle = { slot: 0, generation: 1 };
 * const copy: BackgroundWorkerHandle = JSON.parse(JSON.stringify(handle));
 * ```
 */
export interface BackgroundWorkerHandle {
  /** The slot the worker was registered in. */
  readonly slot: number;
  /** Which registration of that slot: a reused slot has a higher one, so an old handle reads as stopped. */
  readonly generation: number;
}

/**
 * A handle's answer, as `GetBackgroundWorkerPid` gives it.
 *
 * @example
 * ```ts
 * import { BGWH_STARTED, type WorkerStatus } from "bgworker";
 * const running: WorkerStatus = { status: BGWH_STARTED, pid: 1234 };
 * ```
 */
export interface WorkerStatus {
  /** `BGWH_STARTED`, `BGWH_NOT_YET_STARTED`, `BGWH_STOPPED` or `BGWH_POSTMASTER_DIED`. */
  status: number;
  /** The worker's process id while it runs, else null. */
  pid: number | null;
}

const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Read a value as a handle: a `{slot, generation}` pair of non-negative
 * integers, copied into a fresh object (each field read once); null when
 * it is not one.
 *
 * @example
 * ```ts
 * import { parseHandle } from "./handle.ts";
 * parseHandle({ slot: 0, generation: 3 }); // { slot: 0, generation: 3 }
 * parseHandle({ slot: -1 }); // null
 * ```
 */
export function parseHandle(value: unknown): BackgroundWorkerHandle | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { slot, generation } = value as Record<string, unknown>;
  return isIndex(slot) && isIndex(generation) ? { slot, generation } : null;
}

/**
 * A handle given to an API function, checked: the parsed copy, or a typed
 * error naming the argument.
 *
 * @example
 * ```ts
 * import { requireHandle } from "./handle.ts";
 * const handle = requireHandle({ slot: 2, generation: 1 });
 * ```
 */
export function requireHandle(value: unknown): BackgroundWorkerHandle {
  const parsed = parseHandle(value);
  if (parsed) return parsed;
  throw new BackgroundWorkerError("invalid handle", {
    worker: "(unknown)",
    field: "handle",
    code: "invalid_handle",
    detail: "A BackgroundWorkerHandle is an object with non-negative integer slot and generation.",
  });
}
