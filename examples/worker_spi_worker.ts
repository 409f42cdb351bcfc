/**
 * PostgreSQL's src/test/modules/worker_spi, without the database: each
 * worker naps on its latch for `naptime`, does one round of work (here it
 * counts), and rereads its settings on SIGHUP, as worker_spi calls
 * ProcessConfigFile. Its settings file's path travels in `bgw_extra`.
 */
import { readFileSync } from "node:fs";
import {
  backgroundWorkerUnblockSignals,
  type Datum,
  elog,
  myBgworkerEntry,
  myLatch,
  pqsignal,
  resetLatch,
  setLatch,
  waitLatch,
  WL_EXIT_ON_PM_DEATH,
  WL_LATCH_SET,
  WL_TIMEOUT,
} from "../worker.ts";

/** What worker_spi keeps in GUCs. */
export interface WorkerSpiSettings {
  /** Seconds between rounds (worker_spi.naptime). */
  naptime: number;
}

/** Read the settings file named in `bgw_extra`. */
function readSettings(): WorkerSpiSettings {
  const extra = myBgworkerEntry!.bgw_extra;
  const end = extra.indexOf(0);
  const path = new TextDecoder().decode(end === -1 ? extra : extra.subarray(0, end));
  return JSON.parse(readFileSync(path, "utf8")) as WorkerSpiSettings;
}

/** worker_spi_main: count on every wake, reload on SIGHUP, exit on SIGTERM (default) or the postmaster's death. */
export async function workerSpiMain(index: Datum): Promise<void> {
  let gotSighup = false;
  // Set before unblocking, so that a SIGHUP that came early is not lost.
  pqsignal("SIGHUP", () => {
    gotSighup = true;
    setLatch(myLatch);
  });
  backgroundWorkerUnblockSignals();
  let settings = readSettings();
  await elog("LOG", `worker_spi ${index}: initialized with naptime ${settings.naptime} s`);

  for (let count = 1;; count++) {
    await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, settings.naptime * 1000);
    resetLatch(myLatch);
    if (gotSighup) {
      gotSighup = false;
      settings = readSettings();
      await elog("LOG", `worker_spi ${index}: reloaded configuration, naptime now ${settings.naptime} s`);
    }
    await elog("LOG", `worker_spi ${index}: count is now ${count}`);
  }
}
