import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { BGWH_STOPPED, type WorkerEvent } from "../../mod.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

const OPS = new URL("../fixtures/ops_workers.ts", import.meta.url).href;

test("terminate that terminates, real processes: a worker whose signals stay blocked is warned about and killed", async () => {
  const { pm, logs } = realPostmaster({ stopTimeoutMs: 300 });
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("forgetful", "neverUnblocks", { bgw_library_name: OPS, bgw_notify_pid: pm.pid }),
    )!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    pm.terminateBackgroundWorker(handle);
    assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED);
    assert.ok(
      logs.includes(
        `WARNING:  background worker "forgetful" (PID ${pid}) did not exit within 300 ms of terminateBackgroundWorker; its signals may still be blocked (backgroundWorkerUnblockSignals()); sending SIGKILL`,
      ),
      logs.join("\n"),
    );
    assert.ok(logs.includes(`LOG:  background worker "forgetful" (PID ${pid}) was terminated by signal 9: Killed`));
  } finally {
    await pm.stop("immediate");
  }
});

test("worker events and status, real processes: a worker that exits 1 is restarted, and says so", async () => {
  const { pm, until } = realPostmaster();
  const events: WorkerEvent[] = [];
  pm.on("worker", (event) => events.push(event));
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("bouncer", "exitWith", { bgw_main_arg: 1, bgw_restart_time: 0.05, bgw_notify_pid: pm.pid }),
    )!;
    await until("two exits", () => events.filter((e) => e.kind === "exited").length >= 2);
    const kinds = events.map((e) => e.kind);
    assert.deepEqual(kinds.slice(0, 5), ["registered", "started", "exited", "restart_scheduled", "started"]);
    const status = pm.backgroundWorkers().find((w) => w.bgw_name === "bouncer")!;
    assert.ok(status.restarts >= 1, `restarts: ${status.restarts}`);
    assert.equal(status.lastExit?.code, 1);
    pm.terminateBackgroundWorker(handle);
    await until("unregistered", () => events.some((e) => e.kind === "unregistered"));
  } finally {
    await pm.stop("immediate");
  }
});

test("status, real processes: a running worker's memory and CPU from /proc", {
  skip: process.platform === "linux" ? false : "read from Linux's /proc",
}, async () => {
  const { pm } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("measured", "napper", { bgw_notify_pid: pm.pid }))!;
    await pm.waitForBackgroundWorkerStartup(handle);
    const status = pm.backgroundWorkers()[0]!;
    assert.equal(status.state, "running");
    assert.ok(status.rssBytes !== null && status.rssBytes > 1_000_000, `rssBytes: ${status.rssBytes}`);
    assert.ok(status.cpuSeconds !== null && status.cpuSeconds >= 0, `cpuSeconds: ${status.cpuSeconds}`);
    assert.ok(status.startedAt !== null && status.startedAt <= Date.now());
  } finally {
    await pm.stop("immediate");
  }
});
