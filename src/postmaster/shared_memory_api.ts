/**
 * The postmaster's shared memory calls (PostgreSQL's `RequestAddinShmemSpace`,
 * `RequestNamedLWLockTranche`, `ShmemInitStruct`, `GetNamedLWLockTranche`),
 * a base of the `Postmaster` facade so that the facade's file keeps to
 * the worker calls.
 *
 * @module
 */

import type { ShmemStruct } from "../shmem/attachment.ts";
import type { LWLock } from "../shmem/lwlock.ts";
import type { ClusterSegment } from "./shared_memory.ts";

/**
 * Shared memory, as the postmaster's API offers it.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * pm.requestNamedLWLockTranche("counters", 1); // a SharedMemoryApi call
 * ```
 */
export class SharedMemoryApi {
  readonly #shmem: ClusterSegment;

  /**
   * The calls over one cluster's segment.
   *
   * @param shmem the cluster's segment
   */
  constructor(shmem: ClusterSegment) {
    this.#shmem = shmem;
  }

  /**
   * Reserve `bytes` of shared memory for named structs: PostgreSQL's
   * `RequestAddinShmemSpace`. Only before `start()` or from a `_PG_init`.
   * Each struct takes whole 4 KiB pages of it; a few pages of slack are added.
   *
   * @example
   * ```ts
   * import type { Postmaster } from "bgworker";
   * export function _PG_init(pm: Postmaster) {
   *   pm.requestAddinShmemSpace(8192);
   * }
   * ```
   */
  requestAddinShmemSpace(bytes: number): void {
    this.#shmem.requestAddinShmemSpace(bytes);
  }

  /**
   * Ask for `count` lightweight locks under `name`: PostgreSQL's
   * `RequestNamedLWLockTranche`. Only before `start()` or from a `_PG_init`.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * new Postmaster().requestNamedLWLockTranche("counters", 1);
   * ```
   */
  requestNamedLWLockTranche(name: string, count: number): void {
    this.#shmem.requestNamedLWLockTranche(name, count);
  }

  /**
   * Find or create a named struct in shared memory: PostgreSQL's
   * `ShmemInitStruct`. `found` is false for the one that created it (zeroed).
   * Available from the `shmemStartup` event on; after a crash the segment is
   * new and structs must be asked for again.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * const pm = new Postmaster();
   * pm.on("shmemStartup", () => {
   *   const { buffer, found } = pm.shmemInitStruct("counters", 64);
   *   if (!found) new Int32Array(buffer)[0] = 100;
   * });
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
   * import { Postmaster } from "bgworker";
   * const [lock] = new Postmaster().getNamedLWLockTranche("counters");
   * if (lock?.conditionalAcquire("shared")) lock.release();
   * ```
   */
  getNamedLWLockTranche(name: string): LWLock[] {
    return this.#shmem.attachment("getNamedLWLockTranche").tranche(name);
  }
}
