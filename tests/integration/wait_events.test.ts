import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS } from "../../mod.ts";
import { PG_WAIT_EXTENSION } from "../../worker.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

const WAIT_EVENT_WORKERS = new URL("../fixtures/wait_event_workers.ts", import.meta.url).href;

test(
  "wait events, real processes: a worker waiting in a custom event shows its name, the same number in every worker, and null once awake",
  {
    skip: process.platform === "linux" ? false : "POSIX shared memory is mapped through Linux's C library only",
  },
  async () => {
    const { pm, logs, until } = realPostmaster();
    await pm.start();
    try {
      const start = async (name: string, flags: number, mainArg: number) => {
        const handle = pm.registerDynamicBackgroundWorker(
          fixture(name, "waitsInQueueIdle", {
            bgw_library_name: WAIT_EVENT_WORKERS,
            bgw_flags: flags,
            bgw_main_arg: mainArg,
            bgw_notify_pid: pm.pid,
          }),
        )!;
        const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
        return pid!;
      };
      const status = (name: string) => pm.backgroundWorkers().find((w) => w.bgw_name === name)!;
      /** The wait event info each worker logged when its wait began, by worker name. */
      const waiting = () =>
        new Map(logs.flatMap((line) => {
          const match = /^LOG: {2}waiting (\S+) (\d+)$/.exec(line);
          return match ? [[match[1]!, Number(match[2])] as const] : [];
        }));
      const awake = (name: string) => logs.includes(`LOG:  awake ${name}`);

      const firstPid = await start("first", BGWORKER_SHMEM_ACCESS, 0);
      await until("the first worker to wait", () => waiting().has("first"));
      assert.equal(status("first").waitEvent, "QueueIdle");

      // The second names "Other" first: only the cluster's shared table gives it the first one's number for "QueueIdle".
      const secondPid = await start("second", BGWORKER_SHMEM_ACCESS, 1);
      const plainPid = await start("plain", 0, 0);
      await until("the other two to wait", () => waiting().has("second") && waiting().has("plain"));
      assert.equal(waiting().get("first"), PG_WAIT_EXTENSION | 1);
      assert.equal(waiting().get("second"), PG_WAIT_EXTENSION | 1, "one number for a name across workers");
      assert.equal(status("second").waitEvent, "QueueIdle");
      assert.equal(status("plain").waitEvent, null, "a worker without shared memory publishes no wait event");

      // SIGUSR1 sets a worker's latch; the wait ends, and its word is cleared, before "awake" is written.
      process.kill(firstPid, "SIGUSR1");
      await until("the first worker to wake", () => awake("first"));
      assert.equal(status("first").state, "running");
      assert.equal(status("first").waitEvent, null, "running, not waiting");
      assert.equal(status("second").waitEvent, "QueueIdle", "the other still waits");
      for (const pid of [secondPid, plainPid]) process.kill(pid, "SIGUSR1");
      await until("every worker to wake", () => awake("second") && awake("plain"));
      assert.deepEqual(pm.backgroundWorkers().map((w) => [w.bgw_name, w.state, w.waitEvent]), [
        ["first", "running", null],
        ["second", "running", null],
        ["plain", "running", null],
      ]);
    } finally {
      await pm.stop("immediate");
    }
  },
);
