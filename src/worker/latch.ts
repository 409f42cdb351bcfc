/**
 * The latch, PostgreSQL's `Latch` as a background worker uses it: a flag
 * that `setLatch` raises and `resetLatch` clears. Sleeping on one is
 * `waitLatch` (wait_latch.ts), which also needs the worker's state; this
 * file needs nothing, so the state can own a latch without a cycle.
 *
 * @module
 */

/**
 * A latch: a flag `setLatch` raises and `waitLatch` sleeps on.
 *
 * @example
 * ```ts
 * import { Latch, setLatch } from "bgworker/worker";
 * const latch = new Latch();
 * setLatch(latch);
 * ```
 */
export class Latch {
  /** Whether the latch is set. */
  isSet = false;
  /** Sleepers to wake when it is set. */
  readonly sleepers: Set<() => void> = new Set();
}

/**
 * Set a latch, waking whoever waits on it.
 *
 * @example
 * ```ts
 * import { myLatch, setLatch } from "bgworker/worker";
 * setLatch(myLatch);
 * ```
 */
export function setLatch(latch: Latch): void {
  if (latch.isSet) return;
  latch.isSet = true;
  // A copy: a woken sleeper removes itself from the set.
  for (const wake of [...latch.sleepers]) wake();
}

/**
 * Clear a latch. Do it before checking for work, as PostgreSQL's loops do,
 * so a `setLatch` that comes after the check is not lost.
 *
 * @example
 * ```ts
 * import { myLatch, resetLatch } from "bgworker/worker";
 * resetLatch(myLatch);
 * ```
 */
export function resetLatch(latch: Latch): void {
  latch.isSet = false;
}
