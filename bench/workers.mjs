// Worker functions the benchmark runs: plain JavaScript over the built
// package, so no runtime needs a loader to start them.
import {
  backgroundWorkerUnblockSignals,
  elog,
  getNamedLWLockTranche,
  shmemInitStruct,
  myLatch,
  procExit,
  resetLatch,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
} from "../dist/worker.js";
import { atomicAddRate, BENCH_LOCKS, BENCH_STRUCT, lockPairNs } from "./shm_loops.mjs";

/** Say that main began, then nap until terminated. */
export async function reportAndNap() {
  void elog("LOG", "main began");
  await nap();
}

/** Nap until terminated or orphaned. */
export async function nap() {
  backgroundWorkerUnblockSignals();
  for (;;) {
    await waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH);
    resetLatch(myLatch);
  }
}

/** Say so, then exit 1 at once. */
export function exitNow() {
  void elog("LOG", "exiting");
  procExit(1);
}

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
