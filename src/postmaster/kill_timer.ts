/**
 * The timer that ends waiting politely: after `stopTimeoutMs` of a fast or
 * immediate stop, or of a crash cycle, whatever is left gets SIGKILL
 * (PostgreSQL's `SIGKILL_CHILDREN_AFTER_SECS`).
 *
 * @module
 */

import type { RuntimeAdapter, TimerId } from "../adapter.ts";

/**
 * One pending SIGKILL deadline at most.
 *
 * @example
 * ```ts
 * import { KillTimer } from "./kill_timer.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const timer = new KillTimer(adapter, 5000, () => console.log("SIGKILL to what is left"));
 * timer.arm();
 * timer.clear();
 * ```
 */
export class KillTimer {
  readonly #adapter: Pick<RuntimeAdapter, "setTimer" | "clearTimer">;
  readonly #timeoutMs: number;
  readonly #onTimeout: () => void;
  #timer: TimerId | null = null;

  /**
   * @param adapter the clock
   * @param timeoutMs how long to wait
   * @param onTimeout what to do then
   */
  constructor(adapter: Pick<RuntimeAdapter, "setTimer" | "clearTimer">, timeoutMs: number, onTimeout: () => void) {
    this.#adapter = adapter;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  /** Start the deadline, unless one is pending already (a later request does not extend it). */
  arm(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#adapter.setTimer(this.#timeoutMs, () => {
      this.#timer = null;
      this.#onTimeout();
    });
  }

  /** Everything is gone: no deadline. */
  clear(): void {
    if (this.#timer !== null) this.#adapter.clearTimer(this.#timer);
    this.#timer = null;
  }
}
