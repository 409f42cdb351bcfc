import assert from "node:assert/strict";
import { test } from "node:test";
import { BGW_NEVER_RESTART, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

test("exit 0 unregisters the worker and frees its slot", async () => {
  const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 1 });
  pm.registerBackgroundWorker(worker("once", { bgw_restart_time: 1 }));
  await pm.start();
  runtime.last("once").reportStarted().exit(0);
  runtime.advance(60_000);
  assert.equal(runtime.count("once"), 1, "never restarted");
  assert.deepEqual(pm.backgroundWorkers(), []);
  assert.ok(pm.registerDynamicBackgroundWorker(worker("next")), "the slot is free again");
  assert.ok(
    runtime.logs.includes(`DEBUG1:  background worker "once" (PID ${runtime.spawned[0]!.pid}) exited with exit code 0`),
  );
});

test("exit 1 restarts after bgw_restart_time seconds, not before", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("flaky", { bgw_restart_time: 7 }));
  await pm.start();
  const first = runtime.last("flaky").reportStarted();
  first.exit(1);
  assert.ok(runtime.logs.includes(`LOG:  background worker "flaky" (PID ${first.pid}) exited with exit code 1`));
  runtime.advance(6999);
  assert.equal(runtime.count("flaky"), 1);
  runtime.advance(1);
  assert.equal(runtime.count("flaky"), 2);
  assert.equal(runtime.last("flaky").start!.slot, first.start!.slot, "same registration, same slot");
});

test("bgw_restart_time 0 restarts at once", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("eager", { bgw_restart_time: 0 }));
  await pm.start();
  runtime.last("eager").reportStarted().exit(1);
  runtime.advance(0);
  assert.equal(runtime.count("eager"), 2);
});

test("BGW_NEVER_RESTART: exit 1 unregisters", async () => {
  const { pm, runtime } = fakePostmaster();
  const handle = pm.registerDynamicBackgroundWorker(worker("never", { bgw_restart_time: BGW_NEVER_RESTART }))!;
  await pm.start();
  runtime.last("never").reportStarted().exit(1);
  runtime.advance(3_600_000);
  assert.equal(runtime.count("never"), 1);
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED);
  assert.deepEqual(pm.backgroundWorkers(), []);
});

test("a thrown error in the worker arrives as exit 1 and follows the restart policy", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("thrower", { bgw_restart_time: 1 }));
  await pm.start();
  runtime.last("thrower").reportStarted().exit(1);
  runtime.advance(1000);
  assert.equal(runtime.count("thrower"), 2);
});

test("crash of a shared-memory worker: SIGQUIT to every other worker, then all restartable ones start again at once", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("crasher", { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: 60 }));
  pm.registerBackgroundWorker(worker("bystander", { bgw_restart_time: 60 }));
  pm.registerBackgroundWorker(worker("one-shot", { bgw_restart_time: BGW_NEVER_RESTART }));
  await pm.start();
  const bystander = runtime.last("bystander").reportStarted();
  const oneShot = runtime.last("one-shot").reportStarted();
  const crasher = runtime.last("crasher").reportStarted();
  crasher.exit(null, "SIGSEGV");
  assert.ok(
    runtime.logs.includes(
      `LOG:  background worker "crasher" (PID ${crasher.pid}) was terminated by signal 11: Segmentation fault`,
    ),
  );
  assert.ok(runtime.logs.includes("LOG:  terminating any other active server processes"));
  assert.deepEqual(bystander.signals, ["SIGQUIT"]);
  assert.deepEqual(oneShot.signals, ["SIGQUIT"]);
  bystander.exit(2);
  assert.equal(runtime.count("crasher"), 1, "nothing restarts while a worker of the old cycle lives");
  oneShot.exit(null, "SIGQUIT");
  assert.ok(runtime.logs.includes("LOG:  all server processes terminated; reinitializing"));
  assert.equal(runtime.count("crasher"), 2, "restarted at once, not after its 60 s");
  assert.equal(runtime.count("bystander"), 2);
  assert.equal(runtime.count("one-shot"), 1, "BGW_NEVER_RESTART is forgotten");
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name).sort(), ["bystander", "crasher"]);
});

test("an exit code other than 0 and 1 of a shared-memory worker is a crash too", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("a", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  pm.registerBackgroundWorker(worker("b"));
  await pm.start();
  runtime.last("b").reportStarted();
  runtime.last("a").reportStarted().exit(3);
  assert.deepEqual(runtime.last("b").signals, ["SIGQUIT"]);
});

test("the same death without shared memory access counts as exit 1: no one else is touched", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("plain", { bgw_restart_time: 2 }));
  pm.registerBackgroundWorker(worker("other"));
  await pm.start();
  runtime.last("other").reportStarted();
  runtime.last("plain").reportStarted().exit(null, "SIGKILL");
  assert.deepEqual(runtime.last("other").signals, []);
  assert.ok(!runtime.logs.some((l) => l.includes("terminating any other active server processes")));
  runtime.advance(2000);
  assert.equal(runtime.count("plain"), 2);
});

test("crash with restartAfterCrash off: the others are stopped and the postmaster shuts down", async () => {
  const { pm, runtime } = fakePostmaster({ restartAfterCrash: false });
  pm.registerBackgroundWorker(worker("crasher", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  pm.registerBackgroundWorker(worker("other"));
  await pm.start();
  const reasons: string[] = [];
  pm.on("shutdown", ({ reason }) => reasons.push(reason));
  runtime.last("other").reportStarted();
  runtime.last("crasher").reportStarted().exit(null, "SIGABRT");
  runtime.last("other").exit(2);
  assert.deepEqual(reasons, ["crash"]);
  assert.ok(runtime.logs.includes(`LOG:  shutting down because "restartAfterCrash" is off`));
  assert.equal(runtime.spawned.length, 2);
  assert.deepEqual(pm.backgroundWorkers(), []);
  assert.equal(pm.registerDynamicBackgroundWorker(worker("late")), null);
  await pm.stop(); // resolves at once: already stopped
});

test("a worker that ignores SIGQUIT during a crash cycle gets SIGKILL after stopTimeoutMs", async () => {
  const { pm, runtime } = fakePostmaster({ stopTimeoutMs: 500 });
  pm.registerBackgroundWorker(worker("crasher", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  pm.registerBackgroundWorker(worker("stubborn"));
  await pm.start();
  const stubborn = runtime.last("stubborn").reportStarted();
  runtime.last("crasher").reportStarted().exit(null, "SIGSEGV");
  runtime.advance(499);
  assert.deepEqual(stubborn.signals, ["SIGQUIT"]);
  runtime.advance(1);
  assert.deepEqual(stubborn.signals, ["SIGQUIT", "SIGKILL"]);
  stubborn.exit(null, "SIGKILL");
  assert.equal(runtime.count("crasher"), 2);
});

test("dynamic registrations during a crash cycle wait for the reinitialization", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("crasher", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  pm.registerBackgroundWorker(worker("slow"));
  await pm.start();
  runtime.last("slow").reportStarted();
  runtime.last("crasher").reportStarted().exit(null, "SIGSEGV");
  assert.ok(pm.registerDynamicBackgroundWorker(worker("newcomer")));
  assert.equal(runtime.count("newcomer"), 0);
  runtime.last("slow").exit(2);
  assert.equal(runtime.count("newcomer"), 1);
});

test("a death by SIGTERM is the default SIGTERM handler's outcome: PostgreSQL's FATAL line and exit 1, never a crash", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("terminated", { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: 5 }));
  pm.registerBackgroundWorker(worker("bystander", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  await pm.start();
  const terminated = runtime.last("terminated").reportStarted();
  const bystander = runtime.last("bystander").reportStarted();
  terminated.exit(null, "SIGTERM"); // e.g. an administrator's kill -TERM
  assert.ok(runtime.logs.includes('FATAL:  terminating background worker "terminated" due to administrator command'));
  assert.ok(
    runtime.logs.includes(`LOG:  background worker "terminated" (PID ${terminated.pid}) exited with exit code 1`),
  );
  assert.deepEqual(bystander.signals, [], "no crash cycle");
  runtime.advance(5000);
  assert.equal(runtime.count("terminated"), 2, "restarted after its interval, as after exit 1");
});
