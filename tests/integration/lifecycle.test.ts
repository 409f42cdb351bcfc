import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BGW_NEVER_RESTART,
  BGWH_NOT_YET_STARTED,
  BGWH_STARTED,
  BGWH_STOPPED,
  BGWORKER_SHMEM_ACCESS,
} from "../../mod.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";

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
  const handle = pm.registerDynamicBackgroundWorker(
    fixture("thrower", "thrower", { bgw_notify_pid: pm.pid, bgw_restart_time: 0.2 }),
  )!;
  await until("two starts", () => notes.filter((n) => n.status === BGWH_STARTED).length >= 2);
  assert.ok(
    logs.some((l) => /background worker "thrower" \(PID \d+\) exited with exit code 1/.test(l)),
    logs.join("\n"),
  );
  assert.ok(
    logs.some((l) => /^ERROR: {2}.*boom from thrower/.test(l)),
    "the thrown error reaches the postmaster's log",
  );
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

test("real processes: procExit(1) right after a log line: the line arrives and the exit code stays 1 although main then returns", async () => {
  const { pm, notes, until, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("last words", "lastWords", { bgw_notify_pid: pm.pid }))!;
  await until("exit", () => notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED));
  assert.ok(logs.includes("LOG:  last words before procExit(1)"), logs.join("\n"));
  assert.ok(
    logs.some((l) => /^LOG: {2}background worker "last words" \(PID \d+\) exited with exit code 1$/.test(l)),
    logs.join("\n"),
  );
});

test("real processes: terminate sends SIGTERM, the default handler exits 1, and the worker is never restarted", async () => {
  const { pm, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(
    fixture("napper", "napper", { bgw_notify_pid: pm.pid, bgw_restart_time: 0 }),
  )!;
  const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
  assert.equal(status, BGWH_STARTED);
  pm.terminateBackgroundWorker(handle);
  assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED);
  assert.ok(logs.includes(`LOG:  background worker "napper" (PID ${pid}) exited with exit code 1`), logs.join("\n"));
  assert.ok(
    logs.includes('FATAL:  terminating background worker "napper" due to administrator command'),
    logs.join("\n"),
  );
  assert.deepEqual(pm.backgroundWorkers(), []);
  await pm.stop();
});

test('real processes: stop("fast") sends SIGKILL to a worker that ignores SIGTERM after stopTimeoutMs', async () => {
  const { pm, logs } = realPostmaster({ stopTimeoutMs: 300 });
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("stubborn", "ignoresSigterm", { bgw_notify_pid: pm.pid }))!;
  const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
  await pm.stop("fast");
  assert.ok(logs.includes("LOG:  issuing SIGKILL to recalcitrant children"), logs.join("\n"));
  assert.ok(
    logs.includes(`LOG:  background worker "stubborn" (PID ${pid}) was terminated by signal 9: Killed`),
    logs.join("\n"),
  );
});

test("real processes: waitForBackgroundWorkerStartup without the caller's notify pid fails instead of hanging", async () => {
  const { pm } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(fixture("unwatched", "napper"))!;
  await assert.rejects(pm.waitForBackgroundWorkerStartup(handle), /requires bgw_notify_pid to be the caller's pid/);
  await pm.stop();
});

test("real processes: a crash of a shared-memory worker sends SIGQUIT to the others, restarts the restartable ones at once and forgets BGW_NEVER_RESTART ones", async () => {
  const { pm, notes, logs, until } = realPostmaster();
  await pm.start();
  const shmem = { bgw_notify_pid: pm.pid, bgw_flags: BGWORKER_SHMEM_ACCESS };
  // A 60 s interval: only the crash cycle's immediate restart can bring it back within the test.
  const restartable = pm.registerDynamicBackgroundWorker(
    fixture("restartable", "napper", { ...shmem, bgw_restart_time: 60 }),
  )!;
  const oneShot = pm.registerDynamicBackgroundWorker(
    fixture("one shot", "napper", { ...shmem, bgw_restart_time: BGW_NEVER_RESTART }),
  )!;
  const first = await pm.waitForBackgroundWorkerStartup(restartable);
  const oneShotPid = (await pm.waitForBackgroundWorkerStartup(oneShot)).pid;
  pm.registerDynamicBackgroundWorker(fixture("crasher", "exitWith", { ...shmem, bgw_main_arg: 3 }));
  await until(
    "the restartable worker to start again",
    () => notes.filter((n) => sameHandle(n.handle, restartable) && n.status === BGWH_STARTED).length >= 2,
  );
  const second = pm.getBackgroundWorkerPid(restartable);
  assert.equal(second.status, BGWH_STARTED);
  assert.notEqual(second.pid, first.pid, "a new process");
  assert.ok(
    logs.some((l) => /^LOG: {2}background worker "crasher" \(PID \d+\) exited with exit code 3$/.test(l)),
    logs.join("\n"),
  );
  assert.ok(logs.includes("LOG:  terminating any other active server processes"), logs.join("\n"));
  assert.ok(
    logs.includes(`LOG:  background worker "one shot" (PID ${oneShotPid}) exited with exit code 2`),
    "SIGQUIT's handler exits 2",
  );
  assert.ok(logs.includes("LOG:  all server processes terminated; reinitializing"), logs.join("\n"));
  assert.equal(pm.getBackgroundWorkerPid(oneShot).status, BGWH_STOPPED, "BGW_NEVER_RESTART is forgotten");
  assert.deepEqual(
    pm.backgroundWorkers().map((w) => w.bgw_name),
    ["restartable"],
    "the crasher (BGW_NEVER_RESTART) is gone too",
  );
  await pm.stop("fast");
});

test("real processes: maxWorkerProcesses holds: a registration past it returns null, and a freed slot is used again", async () => {
  const { pm } = realPostmaster({ maxWorkerProcesses: 2 });
  await pm.start();
  const a = pm.registerDynamicBackgroundWorker(fixture("a", "napper", { bgw_notify_pid: pm.pid }))!;
  const b = pm.registerDynamicBackgroundWorker(fixture("b", "napper", { bgw_notify_pid: pm.pid }))!;
  assert.equal(pm.registerDynamicBackgroundWorker(fixture("c", "napper", { bgw_notify_pid: pm.pid })), null);
  await pm.waitForBackgroundWorkerStartup(a);
  await pm.waitForBackgroundWorkerStartup(b);
  assert.equal(pm.backgroundWorkers().filter((w) => w.status === BGWH_STARTED).length, 2);
  assert.equal(
    pm.registerDynamicBackgroundWorker(fixture("c", "napper", { bgw_notify_pid: pm.pid })),
    null,
    "still full while both run",
  );
  pm.terminateBackgroundWorker(a);
  await pm.waitForBackgroundWorkerShutdown(a);
  const c = pm.registerDynamicBackgroundWorker(fixture("c", "napper", { bgw_notify_pid: pm.pid }));
  assert.ok(c, "the freed slot takes a new worker");
  assert.equal(c.slot, a.slot);
  await pm.stop("fast");
});

test("real processes: a stale handle answers BGWH_STOPPED while its slot runs another worker", async () => {
  const { pm, notes, until } = realPostmaster({ maxWorkerProcesses: 1 });
  await pm.start();
  const old = pm.registerDynamicBackgroundWorker(fixture("old", "returnAtOnce", { bgw_notify_pid: pm.pid }))!;
  await until(
    "the old worker to finish",
    () => notes.some((n) => sameHandle(n.handle, old) && n.status === BGWH_STOPPED),
  );
  const current = pm.registerDynamicBackgroundWorker(fixture("current", "napper", { bgw_notify_pid: pm.pid }))!;
  assert.equal(current.slot, old.slot);
  assert.notEqual(current.generation, old.generation);
  assert.equal(pm.getBackgroundWorkerPid(current).status, BGWH_NOT_YET_STARTED);
  const { status, pid } = await pm.waitForBackgroundWorkerStartup(current);
  assert.equal(status, BGWH_STARTED);
  assert.deepEqual(pm.getBackgroundWorkerPid(old), { status: BGWH_STOPPED, pid: null });
  assert.equal(await pm.waitForBackgroundWorkerShutdown(old), BGWH_STOPPED);
  pm.terminateBackgroundWorker(old); // safe, and must not touch the slot's new worker
  assert.deepEqual(pm.getBackgroundWorkerPid(current), { status: BGWH_STARTED, pid });
  await pm.stop("fast");
});

test("real processes: terminate and SIGHUP sent while a worker boots are held until it is up: a shared-memory worker exits 1, no crash", async () => {
  const { pm, logs, notes, until } = realPostmaster();
  await pm.start();
  const shmem = { bgw_notify_pid: pm.pid, bgw_flags: BGWORKER_SHMEM_ACCESS };
  const bystander = pm.registerDynamicBackgroundWorker(fixture("bystander", "napper", shmem))!;
  const { pid: bystanderPid } = await pm.waitForBackgroundWorkerStartup(bystander);
  const early = pm.registerDynamicBackgroundWorker(fixture("early", "napper", shmem))!;
  pm.reloadConfiguration(); // SIGHUP: its runtime's default action would kill a process without handlers
  pm.terminateBackgroundWorker(early); // at once, long before its runtime has booted
  await until(
    "the early worker to stop",
    () => notes.some((n) => sameHandle(n.handle, early) && n.status === BGWH_STOPPED),
  );
  assert.ok(
    logs.some((l) => /^LOG: {2}background worker "early" \(PID \d+\) exited with exit code 1$/.test(l)),
    logs.join("\n"),
  );
  assert.ok(
    logs.includes('FATAL:  terminating background worker "early" due to administrator command'),
    logs.join("\n"),
  );
  assert.ok(!logs.includes("LOG:  terminating any other active server processes"), logs.join("\n"));
  assert.deepEqual(pm.getBackgroundWorkerPid(bystander), { status: BGWH_STARTED, pid: bystanderPid });
  await pm.stop("fast");
});
