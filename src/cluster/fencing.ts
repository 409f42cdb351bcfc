/**
 * The host's side of a lease: by when, on its own monotonic clock, it must
 * have stopped its cluster workers if it cannot renew. This is what makes
 * "one worker never runs on two hosts at once" true (see mod.ts): the
 * server declares a host dead only after the lease it granted has ended on
 * the server's clock, and the host stops its workers before that moment,
 * measured on a clock it trusts only for rates, never for dates.
 *
 * The deadline counts from when the renewal was *sent*: the server grants
 * the lease from when it *received* it (`now()` of the statement), which is
 * later, so the host's deadline falls before the server's end even with a
 * slow network. `maxDriftRate` allows for the two clocks ticking at
 * different rates; `marginMs` for stopping the workers (SIGTERM, then
 * SIGKILL after a delay) and the host's own scheduling delays.
 *
 * No timers here: the core has none. The caller reads `msLeft()` to set
 * its own.
 *
 * @module
 */

/**
 * The timing of a lease, as the host sees it.
 *
 * @example
 * ```ts
 * import type { LeaseTiming } from "./fencing.ts";
 * const timing: LeaseTiming = { leaseMs: 10_000, marginMs: 2_000, maxDriftRate: 0.01 };
 * ```
 */
export interface LeaseTiming {
  /** The lease's length, as joined with. */
  readonly leaseMs: number;
  /** Time kept back for stopping the workers; default a fifth of the lease. */
  readonly marginMs?: number;
  /** Largest relative difference between the host's and the server's clock rates; default 0.01 (1 %). */
  readonly maxDriftRate?: number;
}

/**
 * The host-clock time by which workers must be stopped, for a renewal sent
 * at `sentAt` (host clock) that succeeded.
 *
 * @example
 * ```ts
 * import { fenceDeadline } from "./fencing.ts";
 * fenceDeadline(1_000, { leaseMs: 10_000, marginMs: 2_000, maxDriftRate: 0.01 }); // 8_900
 * ```
 */
export function fenceDeadline(sentAt: number, timing: LeaseTiming): number {
  const { leaseMs, marginMs, maxDriftRate } = checkTiming(timing);
  return sentAt + leaseMs * (1 - maxDriftRate) - marginMs;
}

/**
 * How often to renew: a third of the time the host may keep its workers
 * after a renewal, so that two renewals in a row can fail (or be slow)
 * before the host has to stop them.
 *
 * @example
 * ```ts
 * import { renewIntervalMs } from "./fencing.ts";
 * renewIntervalMs({ leaseMs: 10_000, marginMs: 2_000, maxDriftRate: 0.01 }); // 2_633
 * ```
 */
export function renewIntervalMs(timing: LeaseTiming): number {
  return Math.floor(fenceDeadline(0, timing) / 3);
}

/**
 * One host's fence, on a clock the caller gives (monotonic milliseconds,
 * such as `performance.now`). Mark the time before each renewal is sent,
 * record its success, and stop the cluster workers once {@link LeaseFence.holds}
 * is false.
 *
 * @example
 * ```ts
 * import { LeaseFence } from "./fencing.ts";
 * declare const now: () => number;
 * declare function renew(): Promise<boolean>;
 * const fence = new LeaseFence(now, { leaseMs: 10_000 });
 * const sentAt = fence.sending();
 * if (await renew()) fence.renewed(sentAt);
 * if (!fence.holds()) console.log("stop every cluster worker now");
 * ```
 */
export class LeaseFence {
  readonly #now: () => number;
  readonly #timing: LeaseTiming;
  #deadline = -Infinity;

  /** A fence that holds nothing until the first {@link LeaseFence.renewed}. */
  constructor(now: () => number, timing: LeaseTiming) {
    checkTiming(timing);
    this.#now = now;
    this.#timing = timing;
  }

  /** The host-clock time to pass to {@link LeaseFence.renewed}: call it just before sending the join or renewal. */
  sending(): number {
    return this.#now();
  }

  /** The join or renewal sent at `sentAt` succeeded. A late answer to an older one never shortens the deadline. */
  renewed(sentAt: number): void {
    this.#deadline = Math.max(this.#deadline, fenceDeadline(sentAt, this.#timing));
  }

  /** The lease is gone (a renewal was refused): hold nothing from now on. */
  lost(): void {
    this.#deadline = -Infinity;
  }

  /** True while the host may keep running its cluster workers. */
  holds(): boolean {
    return this.#now() < this.#deadline;
  }

  /** Milliseconds until the workers must be stopped; 0 or less once they must. */
  msLeft(): number {
    return this.#deadline - this.#now();
  }
}

function checkTiming(timing: LeaseTiming): Required<LeaseTiming> {
  const { leaseMs } = timing;
  const marginMs = timing.marginMs ?? leaseMs / 5;
  const maxDriftRate = timing.maxDriftRate ?? 0.01;
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be positive; got ${leaseMs}`);
  if (!(maxDriftRate >= 0 && maxDriftRate < 1)) {
    throw new RangeError(`maxDriftRate must be at least 0 and below 1; got ${maxDriftRate}`);
  }
  if (!(marginMs >= 0 && marginMs < leaseMs * (1 - maxDriftRate))) {
    throw new RangeError(
      `marginMs must be at least 0 and leave part of the lease (${leaseMs} ms less ${
        maxDriftRate * 100
      } % drift); got ${marginMs}`,
    );
  }
  return { leaseMs, marginMs, maxDriftRate };
}
