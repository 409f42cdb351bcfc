import assert from "node:assert/strict";
import { test } from "node:test";
import { BGW_NEVER_RESTART, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

const shmem = (name: string, restart = 1) =>
  worker(name, { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: restart });

test("exit 0 during a crash cycle unregisters the worker: it is not started again at reinitialization", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(shmem("a"));
  pm.registerBackgroundWorker(shmem("b"));
  await pm.start();
  const a = runtime.last("a").reportStarted();
  runtime.last("b").reportStarted().exit(3);
  assert.deepEqual(a.signals, ["SIGQUIT"]);
  a.exit(0); // its own SIGQUIT handler chose procExit(0)
  assert.ok(runtime.logs.includes("LOG:  all server processes terminated; reinitializing"));
  runtime.advance(60_000);
  assert.equal(runtime.count("a"), 1, "exit 0 means done, crash cycle or not");
  assert.equal(runtime.count("b"), 2);
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["b"]);
});

test("a terminate asked for before the crash is never restarted; BGW_NEVER_RESTART is forgotten", async () => {
  const { pm, runtime } = fakePostmaster();
  const doomed = pm.registerDynamicBackgroundWorker({ ...shmem("doomed"), bgw_notify_pid: pm.pid })!;
  pm.registerDynamicBackgroundWorker(shmem("once", BGW_NEVER_RESTART));
  pm.registerDynamicBackgroundWorker(shmem("crasher"));
  await pm.start();
  const d = runtime.last("doomed").reportStarted();
  const once = runtime.last("once").reportStarted();
  pm.terminateBackgroundWorker(doomed);
  assert.deepEqual(d.signals, ["SIGTERM"]);
  runtime.last("crasher").reportStarted().exit(null, "SIGSEGV");
  d.exit(2);
  once.exit(2);
  runtime.advance(60_000);
  assert.equal(runtime.count("doomed"), 1);
  assert.equal(runtime.count("once"), 1);
  assert.equal(runtime.count("crasher"), 2);
  assert.equal(pm.getBackgroundWorkerPid(doomed).status, BGWH_STOPPED);
});

test("restartable workers come back after every crash cycle, two and three in a row (PostgreSQL 18's fix)", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(shmem("x", 30));
  pm.registerBackgroundWorker(shmem("y", 30));
  await pm.start();
  for (let cycle = 1; cycle <= 3; cycle++) {
    const x = runtime.last("x").reportStarted();
    const y = runtime.last("y").reportStarted();
    x.exit(null, "SIGABRT");
    y.exit(null, "SIGQUIT");
    assert.equal(runtime.count("x"), cycle + 1, `x back after cycle ${cycle}`);
    assert.equal(runtime.count("y"), cycle + 1, `y back after cycle ${cycle}`);
  }
  const reinit = runtime.logs.filter((l) => l === "LOG:  all server processes terminated; reinitializing");
  assert.equal(reinit.length, 3);
});
