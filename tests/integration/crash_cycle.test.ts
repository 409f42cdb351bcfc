import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { type BackgroundWorker, BGWH_STARTED, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../../mod.ts";
import { realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";

const WORKERS = new URL("../fixtures/crash_cycle_workers.ts", import.meta.url).href;
// A crash cycle needs workers with shared memory access, which bgworker maps through Linux's C library.
const LINUX_ONLY = {
  skip: process.platform === "linux" ? false : "POSIX shared memory is mapped through Linux's C library only",
};

function shmWorker(name: string, fn: string, restart: number, notifyPid: number): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: BGWORKER_SHMEM_ACCESS,
    bgw_start_time: 0,
    bgw_restart_time: restart,
    bgw_library_name: WORKERS,
    bgw_function_name: fn,
    bgw_notify_pid: notifyPid,
  };
}

const REINITIALIZED = "LOG:  all server processes terminated; reinitializing";

test(
  "crash cycle, real processes: a worker that exits 0 on the cycle's SIGQUIT is unregistered, not started again",
  LINUX_ONLY,
  async () => {
    const { pm, logs, notes, until } = realPostmaster();
    await pm.start();
    try {
      const a = pm.registerDynamicBackgroundWorker(shmWorker("quitter", "exitZeroOnQuit", 1, pm.pid))!;
      const started = await pm.waitForBackgroundWorkerStartup(a);
      assert.equal(started.status, BGWH_STARTED);
      pm.registerDynamicBackgroundWorker(shmWorker("crasher", "crash", -1, pm.pid));
      await until("the crash cycle to end", () => logs.includes(REINITIALIZED));
      assert.ok(
        logs.includes(`DEBUG1:  background worker "quitter" (PID ${started.pid}) exited with exit code 0`),
        logs.join("\n"),
      );
      // Restartable workers start again at once on reinitialization: a quitter that came back would be listed now.
      assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), []);
      assert.equal(pm.getBackgroundWorkerPid(a).status, BGWH_STOPPED);
      assert.ok(notes.some((n) => sameHandle(n.handle, a) && n.status === BGWH_STOPPED));
    } finally {
      await pm.stop("immediate");
    }
  },
);

test(
  "crash cycle, real processes: a restartable worker comes back after each of three crash cycles in a row",
  LINUX_ONLY,
  async () => {
    const { pm, logs, until } = realPostmaster();
    await pm.start();
    try {
      const survivor = pm.registerDynamicBackgroundWorker(shmWorker("survivor", "waitForever", 60, pm.pid))!;
      let pid = (await pm.waitForBackgroundWorkerStartup(survivor)).pid;
      for (let cycle = 1; cycle <= 3; cycle++) {
        pm.registerDynamicBackgroundWorker(shmWorker(`crasher ${cycle}`, "crash", -1, pm.pid));
        await until(`crash cycle ${cycle} to end`, () => logs.filter((l) => l === REINITIALIZED).length === cycle);
        const previous = pid;
        await until(`the survivor back after cycle ${cycle}`, () => {
          const now = pm.getBackgroundWorkerPid(survivor);
          return now.status === BGWH_STARTED && now.pid !== previous;
        });
        pid = pm.getBackgroundWorkerPid(survivor).pid;
      }
      assert.equal(pm.backgroundWorkers().length, 1, "the crashers, BGW_NEVER_RESTART, are forgotten");
    } finally {
      await pm.stop("immediate");
    }
  },
);
