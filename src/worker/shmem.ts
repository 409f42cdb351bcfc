/**
 * Shared memory inside a worker: PostgreSQL's `ShmemInitStruct` and
 * `GetNamedLWLockTranche`, for workers registered with
 * `BGWORKER_SHMEM_ACCESS`. The bootstrap maps the cluster's segment before
 * the worker's library is imported, so these are synchronous, as in C.
 *
 * @module
 */

import { BGWORKER_SHMEM_ACCESS } from "../constants.ts";
import { BackgroundWorkerError } from "../errors.ts";
import type { SegmentAttachment, ShmemStruct } from "../shmem/attachment.ts";
import type { LWLock } from "../shmem/lwlock.ts";
import { requirePort, workerState } from "./state.ts";

/**
 * Find or create a named struct in the cluster's shared memory. Every
 * process asking for the same name gets the same bytes; `found` is false
 * for the one that created it (zeroed), so it knows to initialize it.
 *
 * @example
 * ```ts
 * import { getNamedLWLockTranche, shmemInitStruct } from "bgworker/worker";
 * const { buffer } = shmemInitStruct("counters", 8);
 * const counters = new Int32Array(buffer);
 * Atomics.add(counters, 0, 1);
 * ```
 */
export function shmemInitStruct(name: string, size: number): ShmemStruct {
  return workerSegment("shmemInitStruct").initStruct(name, size);
}

/**
 * The lightweight locks the postmaster's `_PG_init` requested under `name`,
 * with `acquire("shared" | "exclusive")` and `release()` across processes.
 *
 * @example
 * ```ts
 * import { getNamedLWLockTranche, shmemInitStruct } from "bgworker/worker";
 * const lock = getNamedLWLockTranche("counters")[0]!; // _PG_init requested one lock or more
 * const counters = new Int32Array(shmemInitStruct("counters", 8).buffer);
 * lock.acquire("exclusive");
 * try { counters[0]!++; } finally { lock.release(); }
 * ```
 */
export function getNamedLWLockTranche(name: string): LWLock[] {
  return workerSegment("getNamedLWLockTranche").tranche(name);
}

function workerSegment(caller: string): SegmentAttachment {
  requirePort(caller);
  const state = workerState();
  const entry = state.entry;
  if (!entry) throw new Error(`${caller}: this worker has not been started yet`);
  if (!(entry.bgw_flags & BGWORKER_SHMEM_ACCESS)) {
    throw new BackgroundWorkerError(`${caller}: cannot use shared memory without BGWORKER_SHMEM_ACCESS`, {
      worker: entry.bgw_name,
      field: "bgw_flags",
      code: "object_not_in_prerequisite_state",
      hint: "Register the worker with BGWORKER_SHMEM_ACCESS in bgw_flags.",
    });
  }
  if (!state.shmem) throw new Error(`${caller}: ${state.shmemUnavailable}`);
  return state.shmem;
}
