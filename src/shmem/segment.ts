/**
 * The layout of bgworker's one shared memory segment, PostgreSQL's shmem
 * index in miniature: a header, a directory of named entries, the lock
 * words of the named LWLock tranches, then the named structs, each starting
 * on a page so that every process can map it as an ArrayBuffer of its own.
 * Everything here works on a plain ArrayBuffer, so it is tested in one
 * process; the mappers make the ArrayBuffer shared.
 *
 * Layout (32-bit words at the start):
 *   magic, version, total size, allocation spinlock, next free byte, entries,
 *   wait event area's offset, its worker slots
 *   directory: MAX_ENTRIES × ENTRY_BYTES from DIRECTORY_OFFSET
 *   tranche lock words, the wait event area (see wait_event_table.ts), then
 *   structs from the first page after them
 *
 * @module
 */

import { utf8Encode } from "../utf8.ts";
import { LWLock } from "./lwlock.ts";
import { PAGE_SIZE } from "./mapper.ts";
import { waitEventAreaSize, WaitEventTable } from "./wait_event_table.ts";

const MAGIC = 0x42475753; // "BGWS"
const VERSION = 2;
const WORD = {
  magic: 0,
  version: 1,
  size: 2,
  allocLock: 3,
  nextFree: 4,
  entries: 5,
  waitEvents: 6,
  waitEventSlots: 7,
} as const;
const DIRECTORY_OFFSET = 64;
/** Named entries (structs and tranches) one segment holds. */
export const MAX_ENTRIES = 128;
const NAME_BYTES = 64;
const ENTRY_BYTES = 80; // name, kind, offset, size, count
const KIND_STRUCT = 1;
const KIND_TRANCHE = 2;
const TRANCHES_OFFSET = DIRECTORY_OFFSET + MAX_ENTRIES * ENTRY_BYTES;
/** Pages added to what was requested, as PostgreSQL adds its own slack to the add-in requests. */
const SLACK_PAGES = 16;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * What `_PG_init` asked for: add-in bytes and named LWLock tranches.
 *
 * @example
 * ```ts
 * import type { ShmemRequests } from "./segment.ts";
 * const requests: ShmemRequests = { addinBytes: 8192, tranches: new Map([["my locks", 4]]) };
 * ```
 */
export interface ShmemRequests {
  addinBytes: number;
  tranches: Map<string, number>;
  /** Worker slots that publish their wait event (the postmaster's `maxWorkerProcesses`); none when absent. */
  waitEventSlots?: number;
}

/**
 * The segment's size for a set of requests. Each struct starts on a page,
 * so a struct takes whole 4 KiB pages of the requested space.
 *
 * @example
 * ```ts
 * import { segmentSize } from "./segment.ts";
 * segmentSize({ addinBytes: 100, tranches: new Map() }); // header pages + one page + slack
 * ```
 */
export function segmentSize(requests: ShmemRequests): number {
  return layoutOf(requests).dataStart + roundUp(requests.addinBytes, PAGE_SIZE) + SLACK_PAGES * PAGE_SIZE;
}

/** Where the wait event area and the structs begin, past the directory and the tranches' lock words. */
function layoutOf(requests: ShmemRequests): { waitEvents: number; dataStart: number } {
  let locks = 0;
  for (const count of requests.tranches.values()) locks += count;
  const waitEvents = roundUp(TRANCHES_OFFSET + locks * 4, 64);
  const dataStart = roundUp(waitEvents + waitEventAreaSize(requests.waitEventSlots ?? 0), PAGE_SIZE);
  return { waitEvents, dataStart };
}

/**
 * Write the header, the tranches and an empty index into a new zeroed
 * segment (the postmaster does this once per segment, at start and after a
 * crash).
 *
 * @example
 * ```ts
 * import { initializeSegment, segmentSize, type ShmemRequests } from "./segment.ts";
 * const requests: ShmemRequests = { addinBytes: 8192, tranches: new Map([["my locks", 4]]) };
 * const buffer = new ArrayBuffer(segmentSize(requests));
 * initializeSegment(buffer, requests);
 * ```
 */
export function initializeSegment(buffer: ArrayBuffer, requests: ShmemRequests): void {
  const words = new Int32Array(buffer);
  const index = new ShmemIndex(buffer, { initializing: true });
  let lockWord = TRANCHES_OFFSET / 4;
  for (const [name, count] of requests.tranches) {
    index.addEntry(name, KIND_TRANCHE, lockWord * 4, count * 4, count);
    lockWord += count;
  }
  // The wait event area needs no writing: zeroed, it is an empty table with no worker waiting.
  const { waitEvents, dataStart } = layoutOf(requests);
  words[WORD.waitEvents] = waitEvents;
  words[WORD.waitEventSlots] = requests.waitEventSlots ?? 0;
  words[WORD.nextFree] = dataStart;
  words[WORD.size] = buffer.byteLength;
  words[WORD.version] = VERSION;
  Atomics.store(words, WORD.magic, MAGIC);
}

/**
 * The named entries of a mapped segment: `shmemInitStruct` and
 * `getNamedLWLockTranche` for one process.
 *
 * @example
 * ```ts
 * import { ShmemIndex } from "./segment.ts";
 * declare const mapped: ArrayBuffer; // a whole segment, mapped after initializeSegment
 * const index = new ShmemIndex(mapped);
 * const { offset, found } = index.initStruct("my counters", 64);
 * ```
 */
export class ShmemIndex {
  readonly #buffer: ArrayBuffer;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;

  /**
   * @param buffer the whole segment, mapped
   * @param options `initializing` skips the header check (for initializeSegment)
   */
  constructor(buffer: ArrayBuffer, options: { initializing?: boolean } = {}) {
    this.#buffer = buffer;
    this.#words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
    if (!options.initializing && Atomics.load(this.#words, WORD.magic) !== MAGIC) {
      throw new Error("shared memory segment is not initialized (no bgworker header)");
    }
  }

  /**
   * Find or allocate a named struct of `size` bytes: PostgreSQL's
   * `ShmemInitStruct`. `found` tells whether another process made it first.
   * Returns its byte offset, which is a multiple of the page size.
   */
  initStruct(name: string, size: number): { offset: number; found: boolean } {
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`shmemInitStruct("${name}"): size must be a positive integer; got ${size}`);
    }
    return this.#locked(() => {
      const entry = this.#find(name);
      if (entry) {
        if (entry.kind !== KIND_STRUCT) {
          throw new Error(`shmemInitStruct("${name}"): the name belongs to an LWLock tranche`);
        }
        if (entry.size !== size) {
          throw new Error(
            `ShmemIndex entry size is wrong for data structure "${name}": expected ${size}, actual ${entry.size}`,
          );
        }
        return { offset: entry.offset, found: true };
      }
      const offset = Atomics.load(this.#words, WORD.nextFree);
      const end = offset + roundUp(size, PAGE_SIZE);
      if (end > this.#buffer.byteLength) {
        throw new RangeError(
          `out of shared memory: not enough shared memory for data structure "${name}" (${size} bytes requested); ` +
            "request it with requestAddinShmemSpace() in _PG_init (each struct takes whole 4 KiB pages)",
        );
      }
      this.addEntry(name, KIND_STRUCT, offset, size, 0);
      Atomics.store(this.#words, WORD.nextFree, end);
      return { offset, found: false };
    });
  }

  /** The segment's size, and the bytes up to the end of the last struct made in it (header and lock words included). */
  usage(): { sizeBytes: number; usedBytes: number } {
    return { sizeBytes: this.#buffer.byteLength, usedBytes: Atomics.load(this.#words, WORD.nextFree) };
  }

  /** The locks of a named tranche: PostgreSQL's `GetNamedLWLockTranche`. */
  tranche(name: string): LWLock[] {
    const entry = this.#find(name);
    if (!entry || entry.kind !== KIND_TRANCHE) throw new Error(`requested tranche is not registered: "${name}"`);
    return Array.from({ length: entry.count }, (_, i) => new LWLock(this.#words, entry.offset / 4 + i));
  }

  /**
   * The custom wait event names and each worker slot's wait event (see
   * wait_event_table.ts); null for a segment laid out without them (by an
   * older bgworker).
   */
  waitEvents(): WaitEventTable | null {
    const offset = Atomics.load(this.#words, WORD.waitEvents);
    if (offset === 0) return null;
    return new WaitEventTable(this.#buffer, offset, Atomics.load(this.#words, WORD.waitEventSlots));
  }

  /** Record an entry; the caller holds the allocation lock or owns the segment alone. */
  addEntry(name: string, kind: number, offset: number, size: number, count: number): void {
    const encoded = utf8Encode(name);
    if (encoded.length === 0 || encoded.length >= NAME_BYTES) {
      throw new RangeError(`shared memory name "${name}" must be 1 to ${NAME_BYTES - 1} UTF-8 bytes`);
    }
    const entries = Atomics.load(this.#words, WORD.entries);
    if (entries >= MAX_ENTRIES) throw new Error(`too many named shared memory entries (the limit is ${MAX_ENTRIES})`);
    const at = DIRECTORY_OFFSET + entries * ENTRY_BYTES;
    this.#bytes.set(encoded, at);
    const fields = new Int32Array(this.#buffer, at + NAME_BYTES, 4);
    fields[0] = kind;
    fields[1] = offset;
    fields[2] = size;
    fields[3] = count;
    Atomics.store(this.#words, WORD.entries, entries + 1);
  }

  #find(name: string): { kind: number; offset: number; size: number; count: number } | null {
    const wanted = utf8Encode(name);
    const entries = Atomics.load(this.#words, WORD.entries);
    for (let i = 0; i < entries; i++) {
      const at = DIRECTORY_OFFSET + i * ENTRY_BYTES;
      if (this.#bytes[at + wanted.length] !== 0 || !wanted.every((byte, j) => this.#bytes[at + j] === byte)) continue;
      const fields = new Int32Array(this.#buffer, at + NAME_BYTES, 4);
      return { kind: fields[0]!, offset: fields[1]!, size: fields[2]!, count: fields[3]! };
    }
    return null;
  }

  /** Run `body` under the segment's allocation spinlock (PostgreSQL's ShmemLock); the sections are short. */
  #locked<T>(body: () => T): T {
    while (Atomics.compareExchange(this.#words, WORD.allocLock, 0, 1) !== 0) {
      // Another process is allocating: a few instructions' worth of waiting.
    }
    try {
      return body();
    } finally {
      Atomics.store(this.#words, WORD.allocLock, 0);
    }
  }
}
