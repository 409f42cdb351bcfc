// Worker functions the benchmark runs: plain JavaScript over the built
// package, so no runtime needs a loader to start them.
import {
  backgroundWorkerUnblockSignals,
  elog,
  myLatch,
  procExit,
  resetLatch,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
} from "../dist/worker.js";

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

/** Never yield the event loop (a worker stuck in a loop), for the postmaster-kill figure. */
export function spin() {
  for (;;) {
    // Nothing: only a signal's default action, or SIGKILL, ends this.
  }
}

/** Say so, then exit 1 at once. */
export function exitNow() {
  void elog("LOG", "exiting");
  procExit(1);
}
