/**
 * The workers of examples/supervision.ts. Each run of a worker is a fresh
 * process: these functions fail the same way every time they run.
 */
import process from "node:process";
import {
  backgroundWorkerUnblockSignals,
  elog,
  myBgworkerEntry,
  myLatch,
  myProcPid,
  resetLatch,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
  WL_TIMEOUT,
} from "../worker.ts";

/** Work a little, then throw: a thrown error is exit 1, restarted after bgw_restart_time. */
export async function flakyMain(): Promise<void> {
  backgroundWorkerUnblockSignals();
  await elog("LOG", `${myBgworkerEntry!.bgw_name} (PID ${myProcPid}) is up`);
  await waitLatch(myLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 300);
  throw new Error("lost the connection to an upstream service");
}

/** Work a little, then die by a signal, like a segfault: with shared memory access that is a crash of the cluster. */
export async function crashingMain(): Promise<void> {
  backgroundWorkerUnblockSignals();
  await elog("LOG", `${myBgworkerEntry!.bgw_name} (PID ${myProcPid}) is up`);
  await waitLatch(myLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 500);
  process.kill(process.pid, "SIGKILL");
}

/** A steady worker that only naps: it is restarted at once when a shared-memory worker crashes. */
export async function steadyMain(): Promise<void> {
  backgroundWorkerUnblockSignals();
  await elog("LOG", `${myBgworkerEntry!.bgw_name} (PID ${myProcPid}) is up`);
  for (;;) {
    await waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH);
    resetLatch(myLatch);
  }
}
