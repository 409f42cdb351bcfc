/**
 * The worker of examples/hello.ts: says hello, then either returns (exit 0,
 * unregistered) or naps on its latch until it is terminated.
 */
import {
  backgroundWorkerUnblockSignals,
  type Datum,
  myBgworkerEntry,
  myLatch,
  myProcPid,
  resetLatch,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
} from "../worker.ts";

/** Main function of both hello workers; `napUntilTerminated` decides whether it stays. */
export async function helloMain(napUntilTerminated: Datum): Promise<void> {
  console.log(`hello from "${myBgworkerEntry?.bgw_name}", PID ${myProcPid}`);
  // Signals that came in the meantime (a terminate, say) are delivered here, as in PostgreSQL.
  backgroundWorkerUnblockSignals();
  if (!napUntilTerminated) return;
  for (;;) {
    // SIGTERM's default handler ends the process; the latch only wakes us for notifications.
    await waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH);
    resetLatch(myLatch);
  }
}
