/**
 * PostgreSQL's lightweight locks, in one 32-bit word of shared memory each:
 * shared holders are counted in the low bits, an exclusive holder sets
 * {@link LW_VAL_EXCLUSIVE}. Acquiring blocks the thread, as in PostgreSQL:
 * it spins briefly, then sleeps in growing steps. (`Atomics.wait` cannot
 * sleep on the shared word itself: it is not a SharedArrayBuffer.)
 *
 * @module
 */

/** The lock word's value while held exclusively. */
export const LW_VAL_EXCLUSIVE = 1 << 30;

/** A lock mode, PostgreSQL's `LW_SHARED` and `LW_EXCLUSIVE`. */
export type LWLockMode = "shared" | "exclusive";

const SPINS_BEFORE_SLEEP = 100;
const MAX_SLEEP_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Every lock this process holds, in the order taken: PostgreSQL's
 * `held_lwlocks` array, which is searched from the end because locks are
 * mostly released in reverse order. On `globalThis`, so that two copies of
 * this module in one process (the bootstrap's and the user's) still
 * release each other's locks.
 */
const held: LWLock[] =
  ((globalThis as unknown as Record<symbol, LWLock[] | undefined>)[Symbol.for("bgworker.lwlocks.held")] ??= []);

/**
 * Told when this process is about to take a lock while it holds none, and
 * when it holds none again. A worker whose SIGTERM the kernel's default
 * action takes (src/worker/sigterm_route.ts) must catch SIGTERM again
 * before it takes a lock: the lock word does not say who holds it, so only
 * the holder can release it on its way out, and the kernel would end the
 * process without that.
 *
 * @example
 * ```ts
 * import type { LWLockHoldingWatcher } from "./lwlock.ts";
 * const watcher: LWLockHoldingWatcher = {
 *   beforeFirstLock: () => console.log("about to hold a lock"),
 *   noLockHeld: () => console.log("holds none"),
 * };
 * ```
 */
export interface LWLockHoldingWatcher {
  /** Before an attempt to take a lock while the process holds none: the lock may be held when this returns. */
  beforeFirstLock(): void;
  /** The process holds no lock: it released its last one, or an attempt left it holding none. */
  noLockHeld(): void;
}

/** The one watcher, on `globalThis` like {@link held}: each copy of this module must tell the same one. */
const watching: { watcher: LWLockHoldingWatcher | null } =
  ((globalThis as unknown as Record<symbol, { watcher: LWLockHoldingWatcher | null } | undefined>)[
    Symbol.for("bgworker.lwlocks.watching")
  ] ??= { watcher: null });

/**
 * Set (or, with null, remove) the process's {@link LWLockHoldingWatcher}.
 * Only a worker that gives SIGTERM to the kernel needs one; without one the
 * lock paths cost a null check more.
 *
 * @example
 * ```ts
 * import { watchLWLockHolding } from "./lwlock.ts";
 * watchLWLockHolding({ beforeFirstLock() {}, noLockHeld() {} });
 * watchLWLockHolding(null);
 * ```
 */
export function watchLWLockHolding(watcher: LWLockHoldingWatcher | null): void {
  watching.watcher = watcher;
}

/**
 * Whether this process holds any lightweight lock.
 *
 * @example
 * ```ts
 * import { holdsLWLocks } from "./lwlock.ts";
 * if (!holdsLWLocks()) console.log("nothing to release on the way out");
 * ```
 */
export function holdsLWLocks(): boolean {
  return held.length > 0;
}

/**
 * Release every lock this process holds: PostgreSQL's `LWLockReleaseAll`,
 * which a worker runs on its way out (error, `procExit`, SIGTERM), so that a
 * worker ending while it held a lock does not leave the others waiting
 * forever. A crash releases nothing: the postmaster then recreates the
 * segment.
 *
 * @example
 * ```ts
 * import { releaseAllLWLocks } from "./lwlock.ts";
 * releaseAllLWLocks();
 * process.exit(1);
 * ```
 */
export function releaseAllLWLocks(): void {
  while (held.length > 0) held[held.length - 1]!.release();
}

/**
 * One lightweight lock over a word of shared memory.
 *
 * @example
 * ```ts
 * import { LWLock } from "./lwlock.ts";
 * declare const buffer: ArrayBuffer; // shared memory: word 0 is the lock, word 1 a counter
 * const words = new Int32Array(buffer);
 * const lock = new LWLock(words, 0);
 * lock.acquire("exclusive");
 * try { words[1]!++; } finally { lock.release(); }
 * ```
 */
export class LWLock {
  readonly #words: Int32Array;
  readonly #index: number;
  /** How this process holds the lock (PostgreSQL keeps the same list per backend). */
  #held: LWLockMode | null = null;

  /**
   * A lock over one word of shared memory (the word is the lock's whole state).
   *
   * @param words the shared memory, as 32-bit words
   * @param index the lock's word
   */
  constructor(words: Int32Array, index: number) {
    this.#words = words;
    this.#index = index;
  }

  /** Take the lock without waiting; false when it is taken in a conflicting mode. */
  conditionalAcquire(mode: LWLockMode): boolean {
    if (mode !== "shared" && mode !== "exclusive") {
      throw new TypeError(`lightweight lock mode must be "shared" or "exclusive"; got ${String(mode)}`);
    }
    if (this.#held) throw new Error(`lightweight lock already held by this process in ${this.#held} mode`);
    // Before the word changes: from the moment it does, the process must not end without releasing it.
    if (held.length === 0) watching.watcher?.beforeFirstLock();
    const words = this.#words;
    for (;;) {
      const value = Atomics.load(words, this.#index);
      if (mode === "exclusive") {
        if (value !== 0) return this.#notTaken();
        if (Atomics.compareExchange(words, this.#index, 0, LW_VAL_EXCLUSIVE) === 0) break;
      } else {
        if (value & LW_VAL_EXCLUSIVE) return this.#notTaken();
        if (Atomics.compareExchange(words, this.#index, value, value + 1) === value) break;
      }
    }
    this.#held = mode;
    held.push(this);
    return true;
  }

  #notTaken(): false {
    if (held.length === 0) watching.watcher?.noLockHeld();
    return false;
  }

  /** Take the lock, blocking until it is free in `mode`. */
  acquire(mode: LWLockMode): void {
    for (let attempt = 0;; attempt++) {
      if (this.conditionalAcquire(mode)) return;
      if (attempt >= SPINS_BEFORE_SLEEP) {
        Atomics.wait(sleeper, 0, 0, Math.min(MAX_SLEEP_MS, 0.01 * (attempt - SPINS_BEFORE_SLEEP + 1)));
      }
    }
  }

  /** Give the lock back. */
  release(): void {
    if (!this.#held) throw new Error("lightweight lock is not held by this process");
    if (this.#held === "exclusive") Atomics.store(this.#words, this.#index, 0);
    else Atomics.sub(this.#words, this.#index, 1);
    this.#held = null;
    if (held[held.length - 1] === this) held.pop();
    else held.splice(held.lastIndexOf(this), 1);
    if (held.length === 0) watching.watcher?.noLockHeld();
  }

  /** Whether this process holds the lock (PostgreSQL's `LWLockHeldByMe`). */
  get heldByMe(): boolean {
    return this.#held !== null;
  }
}
