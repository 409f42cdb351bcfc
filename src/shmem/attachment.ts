/**
 * One process's view of the cluster's shared memory segment: the whole
 * segment mapped for its index, and each named struct mapped again on its
 * own pages so that it is an ArrayBuffer of its own. The postmaster and
 * every worker with `BGWORKER_SHMEM_ACCESS` hold one.
 *
 * @module
 */

import type { LWLock } from "./lwlock.ts";
import type { SharedMemoryMapper } from "./mapper.ts";
import { ShmemIndex } from "./segment.ts";
import type { WaitEventTable } from "./wait_event_table.ts";

/**
 * What `shmemInitStruct` returns: PostgreSQL's pointer and `found` flag.
 *
 * @example
 * ```ts
 * import type { ShmemStruct } from "bgworker/worker";
 * declare const counters: ShmemStruct;
 * if (!counters.found) new Int32Array(counters.buffer).fill(0);
 * ```
 */
export interface ShmemStruct {
  /** The struct's bytes, shared with every process that asks for the same name; exactly `size` bytes long. */
  buffer: ArrayBuffer;
  /** True when the struct existed already (another process created it); false for the process that created it. */
  found: boolean;
}

/**
 * Where a segment is, as the postmaster tells its workers.
 *
 * @example
 * ```ts
 * import type { SegmentLocation } from "./attachment.ts";
 * const where: SegmentLocation = { name: "/bgworker.4242.1", size: 81920 };
 * ```
 */
export interface SegmentLocation {
  /** The POSIX shared memory name, as `shm_open` takes it. */
  name: string;
  /** Its size in bytes. */
  size: number;
}

/**
 * A mapped segment and the structs and tranches this process took from it.
 *
 * @example
 * ```ts
 * import { SegmentAttachment } from "./attachment.ts";
 * declare const mapper: import("./mapper.ts").SharedMemoryMapper;
 * const shmem = new SegmentAttachment(mapper, { name: "/bgworker.4242.1", size: 81920 });
 * const { buffer, found } = shmem.initStruct("my counters", 64);
 * ```
 */
export class SegmentAttachment {
  readonly location: SegmentLocation;
  readonly #mapper: SharedMemoryMapper;
  readonly #index: ShmemIndex;
  /** Asking twice for a struct or a tranche gives the same buffer and the same lock objects, as a pointer would. */
  readonly #structs = new Map<string, ArrayBuffer>();
  readonly #tranches = new Map<string, LWLock[]>();
  #waitEvents: WaitEventTable | null | undefined;

  /**
   * @param mapper the runtime's shared memory access
   * @param location the segment to map
   * @param whole the segment already mapped whole (the creator has it), or undefined to map it now
   */
  constructor(mapper: SharedMemoryMapper, location: SegmentLocation, whole?: ArrayBuffer) {
    this.location = location;
    this.#mapper = mapper;
    this.#index = new ShmemIndex(whole ?? mapper.attach(location.name, location.size));
  }

  /** PostgreSQL's `ShmemInitStruct`: the named struct, created zeroed by the first process that asks. */
  initStruct(name: string, size: number): ShmemStruct {
    const { offset, found } = this.#index.initStruct(name, size);
    let buffer = this.#structs.get(name);
    if (!buffer) {
      // The index checked the size: a name always has one size, so one mapping serves every call.
      buffer = this.#mapper.attach(this.location.name, size, offset);
      this.#structs.set(name, buffer);
    }
    return { buffer, found };
  }

  /** The segment's size and the bytes used in it so far (see `ShmemIndex.usage`). */
  usage(): { sizeBytes: number; usedBytes: number } {
    return this.#index.usage();
  }

  /** The cluster's custom wait event names and each worker slot's wait event; null in a segment laid out without them. */
  get waitEvents(): WaitEventTable | null {
    if (this.#waitEvents === undefined) this.#waitEvents = this.#index.waitEvents();
    return this.#waitEvents;
  }

  /** PostgreSQL's `GetNamedLWLockTranche`: the locks requested under `name` in `_PG_init`. */
  tranche(name: string): LWLock[] {
    let locks = this.#tranches.get(name);
    if (!locks) {
      locks = this.#index.tranche(name);
      this.#tranches.set(name, locks);
    }
    return locks;
  }
}
