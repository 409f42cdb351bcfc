// The timed loops of the shared memory figures, one code for the
// postmaster's floors and the workers' measurements: a figure and its floor
// differ only in the memory (or the lock) they run on.

/** Iterations of each timed loop: long enough to dwarf the clock, short enough for 20 repetitions. */
export const INCREMENTS = 2_000_000;
export const LOCK_PAIRS = 500_000;

/** Increments per second of `Atomics.add` on one word. */
export function atomicAddRate(words, index, n = INCREMENTS) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) Atomics.add(words, index, 1);
  return (n / (performance.now() - t0)) * 1000;
}

/** Nanoseconds per uncontended acquire + release of an LWLock. */
export function lockPairNs(lock, n = LOCK_PAIRS) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    lock.acquire("exclusive");
    lock.release();
  }
  return ((performance.now() - t0) * 1e6) / n;
}

/** The floor of a lock pair: the two atomic instructions a lock word needs at least (compare-and-swap in, store out). */
export function casPairNs(words, index, n = LOCK_PAIRS) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(words, index, 0, 1) !== 0) throw new Error("the floor's word is never contended");
    Atomics.store(words, index, 0);
  }
  return ((performance.now() - t0) * 1e6) / n;
}

/** What the bench postmaster's shmemStartup creates, as 32-bit words: the counter, arrivals, and how many to wait for. */
export const BENCH_STRUCT = { name: "bench counters", size: 64, counter: 0, arrived: 1, expected: 2 };
export const BENCH_LOCKS = "bench locks";
