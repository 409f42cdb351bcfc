import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { WorkerNotification } from "../src/postmaster/postmaster.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

test("terminate sends SIGTERM; the worker is never restarted and is unregistered once gone", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("victim", { bgw_restart_time: 0 }))!;
  const process = runtime.last("victim").reportStarted();
  pm.terminateBackgroundWorker(handle);
  pm.terminateBackgroundWorker(handle);
  assert.deepEqual(process.signals, ["SIGTERM"], "one SIGTERM, even when asked twice");
  process.exit(1); // the default SIGTERM handler exits 1
  runtime.advance(60_000);
  assert.equal(runtime.count("victim"), 1);
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED);
  assert.deepEqual(pm.backgroundWorkers(), []);
});

test("terminate is safe on a stale handle, before start(), and while waiting for a restart", async () => {
  const { pm, runtime } = fakePostmaster();
  const early = pm.registerDynamicBackgroundWorker(worker("early"))!;
  pm.terminateBackgroundWorker(early);
  assert.equal(pm.getBackgroundWorkerPid(early).status, BGWH_STOPPED);
  pm.terminateBackgroundWorker(early);
  await pm.start();
  assert.equal(runtime.count("early"), 0, "a worker terminated before start never starts");
  const waiting = pm.registerDynamicBackgroundWorker(worker("waiting", { bgw_restart_time: 5 }))!;
  runtime.last("waiting").reportStarted().exit(1);
  pm.terminateBackgroundWorker(waiting);
  runtime.advance(10_000);
  assert.equal(runtime.count("waiting"), 1);
  assert.equal(runtime.pendingTimers, 0);
});

test("the postmaster is told of every start and exit, after the slot is freed", async () => {
  const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 1 });
  await pm.start();
  const seen: (WorkerNotification & { freeSlot: boolean })[] = [];
  pm.on("notify", (n) => {
    const probe = n.status === BGWH_STOPPED ? pm.registerDynamicBackgroundWorker(worker("probe")) : null;
    if (probe) pm.terminateBackgroundWorker(probe);
    seen.push({ ...n, freeSlot: probe !== null });
  });
  const handle = pm.registerDynamicBackgroundWorker(worker("told", { bgw_notify_pid: pm.pid, bgw_restart_time: -1 }))!;
  const process = runtime.last("told").reportStarted();
  process.exit(0);
  assert.deepEqual(seen, [
    { handle, status: BGWH_STARTED, pid: process.pid, freeSlot: false },
    { handle, status: BGWH_STOPPED, pid: null, freeSlot: true },
  ]);
});

test("a restarting worker notifies on each start and each exit", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const statuses: number[] = [];
  pm.on("notify", (n) => statuses.push(n.status));
  pm.registerDynamicBackgroundWorker(worker("r", { bgw_notify_pid: pm.pid, bgw_restart_time: 1 }));
  runtime.last("r").reportStarted().exit(1);
  runtime.advance(1000);
  runtime.last("r").reportStarted();
  assert.deepEqual(statuses, [BGWH_STARTED, BGWH_STOPPED, BGWH_STARTED]);
});

test("a worker that registered a dynamic worker is notified over its channel", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("parent"));
  await pm.start();
  const parent = runtime.last("parent").reportStarted();
  const handle = pm.registerDynamicBackgroundWorker(worker("child", { bgw_notify_pid: parent.pid }))!;
  const child = runtime.last("child").reportStarted();
  child.exit(0);
  assert.deepEqual(parent.sent, [
    { type: "notify", slot: handle.slot, generation: handle.generation, status: BGWH_STARTED, pid: child.pid },
    { type: "notify", slot: handle.slot, generation: handle.generation, status: BGWH_STOPPED, pid: null },
  ]);
});

test("when the notified worker exits, its notifications are cancelled", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("parent", { bgw_restart_time: 1 }));
  await pm.start();
  const parent = runtime.last("parent").reportStarted();
  pm.registerDynamicBackgroundWorker(worker("child", { bgw_notify_pid: parent.pid }));
  parent.exit(1);
  runtime.advance(1000);
  const reborn = runtime.last("parent").reportStarted();
  runtime.last("child").reportStarted();
  assert.deepEqual(reborn.sent, [], "a new process, even at a reused pid, is not told");
});

test("waitForBackgroundWorkerStartup resolves with the pid once the worker reports in", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("w", { bgw_notify_pid: pm.pid }))!;
  const waiting = pm.waitForBackgroundWorkerStartup(handle);
  const process = runtime.last("w").reportStarted();
  assert.deepEqual(await waiting, { status: BGWH_STARTED, pid: process.pid });
});

test("waitForBackgroundWorkerStartup answers BGWH_STOPPED for a worker that died before reporting in", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("w", { bgw_notify_pid: pm.pid, bgw_restart_time: -1 }))!;
  const waiting = pm.waitForBackgroundWorkerStartup(handle);
  runtime.last("w").exit(1);
  assert.deepEqual(await waiting, { status: BGWH_STOPPED, pid: null });
});

test("waitForBackgroundWorkerStartup without the caller's notify pid fails at once, naming the worker", async () => {
  const { pm } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("unwatched"))!;
  for (
    const wait of [() => pm.waitForBackgroundWorkerStartup(handle), () => pm.waitForBackgroundWorkerShutdown(handle)]
  ) {
    await assert.rejects(wait(), (e: unknown) => {
      assert.ok(e instanceof BackgroundWorkerError);
      assert.equal(e.worker, "unwatched");
      assert.equal(e.field, "bgw_notify_pid");
      assert.match(e.message, /requires bgw_notify_pid to be the caller's pid/);
      return true;
    });
  }
});

test("waitForBackgroundWorkerShutdown resolves BGWH_STOPPED after a terminate", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("w", { bgw_notify_pid: pm.pid }))!;
  runtime.last("w").reportStarted();
  const waiting = pm.waitForBackgroundWorkerShutdown(handle);
  pm.terminateBackgroundWorker(handle);
  runtime.last("w").exit(1);
  assert.equal(await waiting, BGWH_STOPPED);
  assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED, "a stale handle answers at once");
});

test("waits pending when the postmaster stops answer BGWH_STOPPED: stopping frees every slot", async () => {
  const { pm, runtime } = fakePostmaster({ recovery: true });
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(
    worker("never started", { bgw_notify_pid: pm.pid, bgw_start_time: 2 }),
  )!;
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_NOT_YET_STARTED);
  const waiting = pm.waitForBackgroundWorkerStartup(handle);
  await pm.stop("fast");
  assert.deepEqual(await waiting, { status: BGWH_STOPPED, pid: null });
  assert.equal(runtime.spawned.length, 0);
});

test("a listener that throws is logged and does not break the postmaster", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  pm.on("notify", () => {
    throw new Error("listener bug");
  });
  const handle = pm.registerDynamicBackgroundWorker(worker("w", { bgw_notify_pid: pm.pid }))!;
  runtime.last("w").reportStarted();
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STARTED);
  assert.ok(runtime.logs.includes("WARNING:  postmaster event listener failed: listener bug"));
});

test("each change of status is told once: a crash cycle that forgets a stopped BGW_NEVER_RESTART worker tells nothing new", async () => {
  const { pm, runtime } = fakePostmaster();
  const notes: WorkerNotification[] = [];
  pm.on("notify", (n) => notes.push(n));
  await pm.start();
  const shmem = { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_notify_pid: pm.pid };
  const crasher = pm.registerDynamicBackgroundWorker(worker("crasher", { ...shmem, bgw_restart_time: -1 }))!;
  pm.registerDynamicBackgroundWorker(worker("bystander", { ...shmem, bgw_restart_time: -1 }));
  const c = runtime.last("crasher").reportStarted();
  const b = runtime.last("bystander").reportStarted();
  c.exit(null, "SIGSEGV");
  b.exit(2); // its answer to SIGQUIT; the cycle then forgets both
  const told = notes.filter((n) => n.handle.slot === crasher.slot).map((n) => n.status);
  assert.deepEqual(told, [BGWH_STARTED, BGWH_STOPPED]);
  assert.equal(notes.filter((n) => n.status === BGWH_STOPPED).length, 2, "one stop for each worker");
  assert.deepEqual(pm.backgroundWorkers(), []);
});
