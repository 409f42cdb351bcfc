// The worker function of the shared memory figures: in a module of its own,
// so that the other figures' workers import nothing more than before.
import { elog, getNamedLWLockTranche, shmemInitStruct } from "../dist/worker.js";
import { atomicAddRate, BENCH_LOCKS, BENCH_STRUCT, lockPairNs } from "./shm_loops.mjs";

/**
 * Once every worker of the round has arrived, time Atomics.add on the shared
 * counter and an uncontended pair of this worker's own lock (its main
 * argument picks the lock), in this process's own clock; log the figures.
 */
export function sharedMemoryLoops(lockIndex) {
  const words = new Int32Array(shmemInitStruct(BENCH_STRUCT.name, BENCH_STRUCT.size).buffer);
  const lock = getNamedLWLockTranche(BENCH_LOCKS)[Number(lockIndex)];
  Atomics.add(words, BENCH_STRUCT.arrived, 1);
  while (Atomics.load(words, BENCH_STRUCT.arrived) < Atomics.load(words, BENCH_STRUCT.expected)) {
    // The others are still booting: start together, so that their loops overlap.
  }
  const rate = atomicAddRate(words, BENCH_STRUCT.counter);
  const pairNs = lockPairNs(lock);
  void elog("LOG", `shmem ${JSON.stringify({ rate, pairNs })}`);
}
