import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

test("static and dynamic workers share maxWorkerProcesses slots; a full dynamic registration returns null", async () => {
  const { pm } = fakePostmaster({ maxWorkerProcesses: 3 });
  pm.registerBackgroundWorker(worker("s1"));
  pm.registerBackgroundWorker(worker("s2"));
  await pm.start();
  const d1 = pm.registerDynamicBackgroundWorker(worker("d1"));
  assert.ok(d1);
  assert.equal(pm.registerDynamicBackgroundWorker(worker("d2")), null);
  assert.equal(pm.backgroundWorkers().length, 3);
});

test('a static registration over the limit fails with "too many background workers"', () => {
  const { pm } = fakePostmaster({ maxWorkerProcesses: 1 });
  pm.registerBackgroundWorker(worker("s1"));
  assert.throws(() => pm.registerBackgroundWorker(worker("s2")), (error: unknown) => {
    assert.ok(error instanceof BackgroundWorkerError);
    assert.equal(error.code, "configuration_limit_exceeded");
    assert.equal(error.message, 'background worker "s2": too many background workers');
    assert.equal(error.detail, "Up to 1 background workers can be registered with the current settings.");
    return true;
  });
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["s1"]);
});

test("handles are plain {slot, generation} values that survive a copy", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("d"))!;
  assert.deepEqual(Object.keys(handle).sort(), ["generation", "slot"]);
  const copy = JSON.parse(JSON.stringify(handle));
  runtime.last("d").reportStarted();
  assert.deepEqual(pm.getBackgroundWorkerPid(copy), { status: BGWH_STARTED, pid: runtime.last("d").pid });
});

test("status: not started yet, then started with its pid, then stopped", async () => {
  const { pm, runtime } = fakePostmaster({ recovery: true });
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("d", { bgw_start_time: 2 }))!;
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_NOT_YET_STARTED, pid: null });
  pm.finishRecovery();
  const process = runtime.last("d");
  assert.deepEqual(
    pm.getBackgroundWorkerPid(handle),
    { status: BGWH_NOT_YET_STARTED, pid: null },
    "spawned but not reported in",
  );
  process.reportStarted();
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_STARTED, pid: process.pid });
  process.exit(0);
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_STOPPED, pid: null });
});

test("a worker waiting for its restart answers BGWH_STOPPED", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("d", { bgw_restart_time: 5 }))!;
  runtime.last("d").reportStarted().exit(1);
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED);
  runtime.advance(5000);
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED, "respawned, not reported in yet");
  runtime.last("d").reportStarted();
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STARTED);
});

test("a handle whose slot was reused answers BGWH_STOPPED and never reaches the new worker", async () => {
  const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 1 });
  await pm.start();
  const old = pm.registerDynamicBackgroundWorker(worker("old"))!;
  runtime.last("old").reportStarted().exit(0);
  const fresh = pm.registerDynamicBackgroundWorker(worker("new"))!;
  assert.equal(fresh.slot, old.slot);
  assert.notEqual(fresh.generation, old.generation);
  runtime.last("new").reportStarted();
  assert.deepEqual(pm.getBackgroundWorkerPid(old), { status: BGWH_STOPPED, pid: null });
  pm.terminateBackgroundWorker(old);
  assert.deepEqual(runtime.last("new").signals, [], "terminating the stale handle left the new worker alone");
  assert.equal(pm.getBackgroundWorkerPid(fresh).status, BGWH_STARTED);
});

test("a malformed handle is a typed error, not a crash", async () => {
  const { pm } = fakePostmaster();
  await pm.start();
  for (const bad of [null, {}, { slot: -1, generation: 1 }, { slot: 0.5, generation: 1 }, { slot: 0 }]) {
    assert.throws(
      () => pm.getBackgroundWorkerPid(bad as never),
      (e: unknown) => e instanceof BackgroundWorkerError && e.field === "handle",
    );
  }
  await assert.rejects(pm.waitForBackgroundWorkerStartup({ slot: "x" } as never), BackgroundWorkerError);
});

test("constructor options are checked", () => {
  assert.throws(() => fakePostmaster({ maxWorkerProcesses: -1 }), /maxWorkerProcesses/);
  assert.throws(() => fakePostmaster({ maxWorkerProcesses: 1.5 }), /maxWorkerProcesses/);
  assert.throws(() => fakePostmaster({ stopTimeoutMs: -5 }), /stopTimeoutMs/);
});
