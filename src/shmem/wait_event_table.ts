/**
 * Custom wait events in the cluster's shared memory: PostgreSQL's
 * `WaitEventCustomHashByName` and `WaitEventCustomHashByInfo` in miniature,
 * and one published wait event per worker slot (PostgreSQL's
 * `PGPROC.wait_event_info`), so that the postmaster reads what a worker
 * waits for without a message per wait.
 *
 * Layout, from the area's offset in the segment (32-bit words unless said):
 *   spinlock, names in use (ids 1 … count)
 *   from NAMES_OFFSET: MAX_CUSTOM_WAIT_EVENTS + 1 entries of NAME_ENTRY_BYTES
 *     (entry `id`: a 16-bit length, then up to 63 UTF-16 code units; entry 0 unused)
 *   from SLOTS_OFFSET: two words per worker slot, the pid of the process that
 *     claimed the slot, and the wait event info it is in (0: not waiting)
 *
 * Names are kept as UTF-16 code units because the core is ECMAScript only
 * (no `TextDecoder` to read UTF-8 back); a name of at most 63 UTF-8 bytes
 * has at most 63 code units.
 *
 * @module
 */

/**
 * PostgreSQL's `PG_WAIT_EXTENSION`: the class of extension wait events, and
 * the info of its one built-in event, shown as "Extension" (what `waitLatch`
 * reports when given no wait event).
 *
 * @example
 * ```ts
 * import { myLatch, PG_WAIT_EXTENSION, waitLatch, WL_LATCH_SET } from "bgworker/worker";
 * await waitLatch(myLatch, WL_LATCH_SET, -1, PG_WAIT_EXTENSION); // the same as leaving it out
 * ```
 */
export const PG_WAIT_EXTENSION = 0x07000000;
/**
 * PostgreSQL's `WAIT_EVENT_CLASS_MASK`: the class bits of a wait event info.
 *
 * @example
 * ```ts
 * import { PG_WAIT_EXTENSION, WAIT_EVENT_CLASS_MASK } from "./wait_event_table.ts";
 * const isExtension = (info: number) => (info & WAIT_EVENT_CLASS_MASK) >>> 0 === PG_WAIT_EXTENSION;
 * ```
 */
export const WAIT_EVENT_CLASS_MASK = 0xff000000;
/**
 * PostgreSQL's `WAIT_EVENT_ID_MASK`: the id bits of a wait event info.
 *
 * @example
 * ```ts
 * import { WAIT_EVENT_ID_MASK } from "./wait_event_table.ts";
 * const idOf = (info: number) => info & WAIT_EVENT_ID_MASK;
 * ```
 */
export const WAIT_EVENT_ID_MASK = 0x0000ffff;
/**
 * Custom wait events one cluster holds: PostgreSQL's ids run from 1 while
 * below `WAIT_EVENT_CUSTOM_HASH_MAX_SIZE` (128).
 *
 * @example
 * ```ts
 * import { MAX_CUSTOM_WAIT_EVENTS } from "./wait_event_table.ts";
 * const full = (defined: number) => defined >= MAX_CUSTOM_WAIT_EVENTS;
 * ```
 */
export const MAX_CUSTOM_WAIT_EVENTS = 127;
/**
 * PostgreSQL's `NAMEDATALEN - 1`: the longest wait event name, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { MAX_WAIT_EVENT_NAME_BYTES } from "./wait_event_table.ts";
 * import { utf8ByteLength } from "../utf8.ts";
 * const fits = (name: string) => utf8ByteLength(name) <= MAX_WAIT_EVENT_NAME_BYTES;
 * ```
 */
export const MAX_WAIT_EVENT_NAME_BYTES = 63;

const WORD = { lock: 0, count: 1 } as const;
const NAMES_OFFSET = 64;
const NAME_ENTRY_BYTES = 128;
const SLOTS_OFFSET = NAMES_OFFSET + (MAX_CUSTOM_WAIT_EVENTS + 1) * NAME_ENTRY_BYTES;
const SLOT_WORDS = 2;

/**
 * Bytes the area takes for `slots` worker slots.
 *
 * @example
 * ```ts
 * import { waitEventAreaSize } from "./wait_event_table.ts";
 * waitEventAreaSize(8); // the name table and 8 × 8 bytes
 * ```
 */
export function waitEventAreaSize(slots: number): number {
  return SLOTS_OFFSET + slots * SLOT_WORDS * 4;
}

/**
 * The custom wait event names of a cluster and the wait event each worker
 * slot is in, over the bytes of a mapped segment. A zeroed area is a valid
 * empty table.
 *
 * @example
 * ```ts
 * import { PG_WAIT_EXTENSION, WaitEventTable, waitEventAreaSize } from "./wait_event_table.ts";
 * const table = new WaitEventTable(new ArrayBuffer(waitEventAreaSize(4)), 0, 4);
 * const id = table.idOf("MyWorkerMain")!; // 1
 * table.claimSlot(0, 4242);
 * table.publish(0, PG_WAIT_EXTENSION | id);
 * table.current(0, 4242); // PG_WAIT_EXTENSION | 1
 * ```
 */
export class WaitEventTable {
  /** How many worker slots have a published word. */
  readonly slots: number;
  readonly #words: Int32Array;
  readonly #names: Uint16Array;
  readonly #slotWords: Int32Array;

  /**
   * @param buffer the whole segment (or any buffer holding the area)
   * @param offset the area's byte offset, a multiple of 4
   * @param slots worker slots the area was sized for
   */
  constructor(buffer: ArrayBuffer, offset: number, slots: number) {
    this.slots = slots;
    this.#words = new Int32Array(buffer, offset, 2);
    this.#names = new Uint16Array(buffer, offset + NAMES_OFFSET, (SLOTS_OFFSET - NAMES_OFFSET) / 2);
    this.#slotWords = new Int32Array(buffer, offset + SLOTS_OFFSET, slots * SLOT_WORDS);
  }

  /**
   * The id of a name, allocated the first time any process asks (PostgreSQL's
   * `WaitEventCustomNew`); null when the table is full. The caller checked
   * the name: at most 63 UTF-8 bytes, so at most 63 code units.
   */
  idOf(name: string): number | null {
    // The common case, a name some process defined already, takes no lock (names never change once counted).
    const known = this.#find(name, Atomics.load(this.#words, WORD.count));
    if (known !== null) return known;
    return this.#locked(() => {
      const count = Atomics.load(this.#words, WORD.count);
      // Another process may have defined it between the look and the lock.
      const raced = this.#find(name, count);
      if (raced !== null) return raced;
      if (count >= MAX_CUSTOM_WAIT_EVENTS) return null;
      const id = count + 1;
      const at = id * (NAME_ENTRY_BYTES / 2);
      for (let i = 0; i < name.length; i++) this.#names[at + 1 + i] = name.charCodeAt(i);
      this.#names[at] = name.length;
      // Counted last: a reader that sees the count sees the whole name.
      Atomics.store(this.#words, WORD.count, id);
      return id;
    });
  }

  /** The name of a custom id, or null when no process defined it. */
  nameOf(id: number): string | null {
    if (!Number.isInteger(id) || id < 1 || id > Atomics.load(this.#words, WORD.count)) return null;
    const at = id * (NAME_ENTRY_BYTES / 2);
    return String.fromCharCode(...this.#names.subarray(at + 1, at + 1 + this.#names[at]!));
  }

  /**
   * A process takes a slot's word for itself (at start): it clears what an
   * earlier process of the slot left, then signs it with its pid, in that
   * order, so a reader that sees the pid never sees the earlier wait.
   */
  claimSlot(slot: number, pid: number): void {
    Atomics.store(this.#slotWords, slot * SLOT_WORDS + 1, 0);
    Atomics.store(this.#slotWords, slot * SLOT_WORDS, pid);
  }

  /** The claiming process is now in wait event `info` (0: it is not waiting): PostgreSQL's `pgstat_report_wait_start`. */
  publish(slot: number, info: number): void {
    Atomics.store(this.#slotWords, slot * SLOT_WORDS + 1, info | 0);
  }

  /**
   * The wait event info the slot's process `pid` is in, or 0 when it is not
   * waiting, or when the word is not that process's (an earlier process of
   * the slot left it, or the process has not claimed the slot yet).
   */
  current(slot: number, pid: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) return 0;
    if (Atomics.load(this.#slotWords, slot * SLOT_WORDS) !== pid) return 0;
    return Atomics.load(this.#slotWords, slot * SLOT_WORDS + 1) >>> 0;
  }

  /**
   * The name PostgreSQL's `pg_stat_activity.wait_event` shows for an info:
   * "Extension" for `PG_WAIT_EXTENSION`, a custom event's name, null for 0
   * (not waiting), and PostgreSQL's "unknown wait event" for anything else.
   */
  describe(info: number): string | null {
    if (info === 0) return null;
    if (info === PG_WAIT_EXTENSION) return "Extension";
    const name = (info & WAIT_EVENT_CLASS_MASK) >>> 0 === PG_WAIT_EXTENSION
      ? this.nameOf(info & WAIT_EVENT_ID_MASK)
      : null;
    return name ?? "unknown wait event";
  }

  #find(name: string, count: number): number | null {
    for (let id = 1; id <= count; id++) {
      const at = id * (NAME_ENTRY_BYTES / 2);
      if (this.#names[at] !== name.length) continue;
      let same = true;
      for (let i = 0; i < name.length && same; i++) same = this.#names[at + 1 + i] === name.charCodeAt(i);
      if (same) return id;
    }
    return null;
  }

  /** Run `body` under the table's spinlock (PostgreSQL's `WaitEventCustomLock`); the sections are short. */
  #locked<T>(body: () => T): T {
    while (Atomics.compareExchange(this.#words, WORD.lock, 0, 1) !== 0) {
      // Another process is defining a name: a few instructions' worth of waiting.
    }
    try {
      return body();
    } finally {
      Atomics.store(this.#words, WORD.lock, 0);
    }
  }
}
