import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED, BGWH_STOPPED } from "../../mod.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

test("real processes: a worker reports in with its own pid, and return from main (exit 0) unregisters it", async () => {
  const { pm, notes, until, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("returns", "returnAtOnce", { bgw_notify_pid: pm.pid }))!;
  const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
  assert.ok(status === BGWH_STARTED || status === BGWH_STOPPED, `status ${status}`);
  if (status === BGWH_STARTED) assert.ok(pid && pid !== pm.pid);
  await until("exit", () => notes.some((n) => n.status === BGWH_STOPPED));
  assert.deepEqual(pm.backgroundWorkers(), []);
  assert.ok(!logs.some((l) => l.startsWith("LOG:  background worker")), logs.join("\n"));
  await pm.stop();
});

test("real processes: exit 1 restarts after the interval; a thrown error is exit 1", async () => {
  const { pm, notes, until, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("thrower", "thrower", { bgw_notify_pid: pm.pid, bgw_restart_time: 0.2 }))!;
  await until("two starts", () => notes.filter((n) => n.status === BGWH_STARTED).length >= 2);
  assert.ok(logs.some((l) => /background worker "thrower" \(PID \d+\) exited with exit code 1/.test(l)), logs.join("\n"));
  pm.terminateBackgroundWorker(handle);
  await pm.waitForBackgroundWorkerShutdown(handle);
  await pm.stop();
});

test("real processes: BGW_NEVER_RESTART exit 1 unregisters", async () => {
  const { pm, notes, until } = realPostmaster();
  await pm.start();
  pm.registerDynamicBackgroundWorker(fixture("exit1", "exitWith", { bgw_notify_pid: pm.pid, bgw_main_arg: 1 }));
  await until("exit", () => notes.some((n) => n.status === BGWH_STOPPED));
  assert.deepEqual(pm.backgroundWorkers(), []);
  await pm.stop();
});

test("real processes: terminate sends SIGTERM, the default handler exits 1, and the worker is never restarted", async () => {
  const { pm, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("napper", "napper", { bgw_notify_pid: pm.pid, bgw_restart_time: 0 }))!;
  const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
  assert.equal(status, BGWH_STARTED);
  pm.terminateBackgroundWorker(handle);
  assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED);
  assert.ok(logs.includes(`LOG:  background worker "napper" (PID ${pid}) exited with exit code 1`), logs.join("\n"));
  assert.deepEqual(pm.backgroundWorkers(), []);
  await pm.stop();
});

test("real processes: stop(\"fast\") sends SIGKILL to a worker that ignores SIGTERM after stopTimeoutMs", async () => {
  const { pm, logs } = realPostmaster({ stopTimeoutMs: 300 });
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("stubborn", "ignoresSigterm", { bgw_notify_pid: pm.pid }))!;
  const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
  await pm.stop("fast");
  assert.ok(logs.includes("LOG:  issuing SIGKILL to recalcitrant children"), logs.join("\n"));
  assert.ok(logs.includes(`LOG:  background worker "stubborn" (PID ${pid}) was terminated by signal 9: Killed`), logs.join("\n"));
});

test("real processes: waitForBackgroundWorkerStartup without the caller's notify pid fails instead of hanging", async () => {
  const { pm } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("unwatched", "napper"))!;
  await assert.rejects(pm.waitForBackgroundWorkerStartup(handle), /requires bgw_notify_pid to be the caller's pid/);
  await pm.stop();
});
