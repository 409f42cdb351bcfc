import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { WorkerEvent } from "../src/postmaster/events.ts";
import { checkWorkerOptions, nextRestart } from "../src/worker_options.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

test("worker options are checked strictly, each field read once, with the worker and the field named", () => {
  assert.deepEqual(checkWorkerOptions(undefined, "w"), {});
  const bad = (options: unknown, field: RegExp) =>
    assert.throws(
      () => checkWorkerOptions(options, "w"),
      (e: unknown) => e instanceof BackgroundWorkerError && e.worker === "w" && field.test(e.field!),
    );
  bad({ memoryLimit: 5 }, /^memoryLimit$/);
  bad({ restart: { backof: {} } }, /^restart\.backof$/);
  bad({ restart: { backoff: { factor: 2, maxSeconds: 10 } } }, /^restart\.backoff\.resetAfterSeconds$/);
  bad({ restart: { backoff: { factor: 0.5, maxSeconds: 10, resetAfterSeconds: 1 } } }, /^restart\.backoff\.factor$/);
  bad({ restart: { intensity: { maxRestarts: 1.5, withinSeconds: 10 } } }, /^restart\.intensity\.maxRestarts$/);
  bad({ env: { A: 1 } }, /^env\.A$/);
  bad({ env: { "A=B": "x" } }, /^env\.A=B$/);
  bad({ cwd: "" }, /^cwd$/);
  bad("fast", /^options$/);
  let reads = 0;
  const options = {
    get cwd() {
      return ++reads === 1 ? "/srv" : "";
    },
  };
  assert.equal(checkWorkerOptions(options, "w").cwd, "/srv");
  assert.equal(reads, 1);
});

test("nextRestart: backoff grows by the factor up to its cap; intensity counts restarts in the window", () => {
  const backoff = { backoff: { factor: 2, maxSeconds: 30, resetAfterSeconds: 60 } };
  const delays = [1, 2, 3, 4, 5, 6].map((n) => nextRestart(5, backoff, { consecutive: n, recent: [] }, 0).delaySeconds);
  assert.deepEqual(delays, [5, 10, 20, 30, 30, 30]);
  const intensity = { intensity: { maxRestarts: 2, withinSeconds: 10 } };
  assert.equal(nextRestart(1, intensity, { consecutive: 1, recent: [1000, 2000] }, 5000).allowed, false);
  assert.equal(
    nextRestart(1, intensity, { consecutive: 1, recent: [1000, 2000] }, 12_500).allowed,
    true,
    "the first left the window",
  );
});

test("backoff on the fake runtime: the n-th consecutive restart waits bgw_restart_time × factor^(n-1), capped", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("flapping", { bgw_restart_time: 1 }), {
    restart: { backoff: { factor: 3, maxSeconds: 10, resetAfterSeconds: 60 } },
  });
  await pm.start();
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    runtime.last("flapping").reportStarted().exit(1);
    const before = runtime.count("flapping");
    let waited = 0;
    while (runtime.count("flapping") === before) {
      runtime.advance(100);
      waited += 100;
    }
    waits.push(waited);
  }
  assert.deepEqual(waits, [1000, 3000, 9000, 10_000]);
});

test("intensity: a worker that would restart too often is failed, listed, its handle stopped, its slot free, with the reason", async () => {
  const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 1 });
  const events: WorkerEvent[] = [];
  pm.on("worker", (event) => events.push(event));
  const handle = pm.registerDynamicBackgroundWorker({
    ...worker("crashy", { bgw_restart_time: 0 }),
    bgw_notify_pid: pm.pid,
  }, {
    restart: { intensity: { maxRestarts: 2, withinSeconds: 60 } },
  })!;
  await pm.start();
  const stopped = pm.waitForBackgroundWorkerShutdown(handle);
  for (let i = 0; i < 3; i++) {
    runtime.last("crashy").reportStarted().exit(1);
    runtime.advance(0);
  }
  assert.equal(runtime.count("crashy"), 3, "started, then restarted twice, then failed");
  assert.equal(await stopped, BGWH_STOPPED);
  const [listed] = pm.backgroundWorkers();
  assert.deepEqual([listed!.bgw_name, listed!.state, listed!.restarts], ["crashy", "failed", 2]);
  const failed = events.find((e) => e.kind === "failed");
  assert.ok(
    failed && failed.kind === "failed" &&
      /restarted 2 times within 60 s \(restart.intensity allows 2\)/.test(failed.reason),
  );
  assert.ok(
    runtime.logs.some((l) => /background worker "crashy" will not be restarted: restarted 2 times within 60 s/.test(l)),
  );
  runtime.advance(600_000);
  assert.equal(runtime.count("crashy"), 3, "never started again");
  const next = pm.registerDynamicBackgroundWorker(worker("next"));
  assert.ok(next, "the failed worker's slot counts as free");
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["next"]);
});

test("crash-cycle restarts count towards intensity; workerDefaults apply unless a registration gives its own", async () => {
  const { pm, runtime } = fakePostmaster({
    workerDefaults: { restart: { intensity: { maxRestarts: 1, withinSeconds: 60 } } },
  });
  pm.registerBackgroundWorker(worker("shm", { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: 5 }));
  pm.registerBackgroundWorker(worker("free", { bgw_restart_time: 5 }), { restart: {} });
  await pm.start();
  for (let cycle = 0; cycle < 2; cycle++) {
    runtime.last("free").reportStarted();
    runtime.last("shm").reportStarted().exit(3);
    runtime.last("free").exit(2);
  }
  const states = Object.fromEntries(pm.backgroundWorkers().map((w) => [w.bgw_name, w.state]));
  assert.equal(states.shm, "failed", "its second crash-cycle restart exceeds the default intensity");
  assert.notEqual(states.free, "failed", "its own options replace the default's restart policy");
});
