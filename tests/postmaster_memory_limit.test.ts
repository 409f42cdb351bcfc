import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import { MemoryLimits } from "../src/postmaster/memory_limits.ts";
import { checkWorkerOptions } from "../src/worker_options.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

const MIB = 1024 * 1024;

/** A postmaster on the fake runtime whose processes use what `rss` says (MiB by pid). */
function withMemory(options: Parameters<typeof fakePostmaster>[0] = {}) {
  const made = fakePostmaster({ stopTimeoutMs: 5000, ...options });
  const rss = new Map<number, number>();
  made.runtime.processUsage = (pid) => ({ rssBytes: (rss.get(pid) ?? 50) * MIB, cpuSeconds: 0 });
  return { ...made, rss };
}

test("memoryLimitMb is checked: a positive whole number of MiB, the worker and the field named", () => {
  for (const bad of [0, -1, 1.5, "512", Number.NaN, Infinity]) {
    assert.throws(
      () => checkWorkerOptions({ memoryLimitMb: bad }, "hog"),
      (e: unknown) => e instanceof BackgroundWorkerError && e.worker === "hog" && e.field === "memoryLimitMb",
      String(bad),
    );
  }
  assert.equal(checkWorkerOptions({ memoryLimitMb: 256 }, "hog").memoryLimitMb, 256);
});

test("a worker with memoryLimitMb skips the spares and is spawned with its heap limit", async () => {
  const { pm, runtime } = withMemory({ spareWorkerProcesses: 1 });
  await pm.start();
  const spares = runtime.spawned.length;
  pm.registerDynamicBackgroundWorker(worker("hog"), { memoryLimitMb: 128 });
  assert.equal(runtime.spawned.length, spares + 1, "a new process, not the spare");
  assert.equal(runtime.last("hog").options.heapLimitMb, 128);
  pm.registerDynamicBackgroundWorker(worker("plain"));
  assert.equal(runtime.last("plain").options.heapLimitMb, undefined);
});

test("past its limit a worker is logged, sent SIGTERM, SIGKILL after stopTimeoutMs, and restarted as after exit 1", async () => {
  const { pm, runtime, rss } = withMemory();
  const handle = pm.registerDynamicBackgroundWorker(worker("hog", { bgw_restart_time: 2 }), { memoryLimitMb: 100 })!;
  await pm.start();
  const first = runtime.last("hog").reportStarted();
  rss.set(first.pid, 99);
  runtime.advance(1000);
  assert.deepEqual(first.signals, [], "within its limit");
  rss.set(first.pid, 150);
  runtime.advance(999);
  assert.deepEqual(first.signals, [], "checked once a second, not more");
  runtime.advance(1);
  assert.deepEqual(first.signals, ["SIGTERM"]);
  assert.ok(
    runtime.logs.some((line) =>
      /LOG: {2}background worker "hog" \(PID \d+\) uses 150 MB of memory, over its memoryLimitMb of 100/.test(line)
    ),
    runtime.logs.join("\n"),
  );
  runtime.advance(3000);
  assert.deepEqual(first.signals, ["SIGTERM"], "one SIGTERM, however many checks pass");
  runtime.advance(2000);
  assert.deepEqual(first.signals, ["SIGTERM", "SIGKILL"], "SIGKILL after stopTimeoutMs");
  first.exit(null, "SIGKILL");
  assert.ok(!runtime.logs.some((line) => /terminating any other active server processes/.test(line)), "no crash cycle");
  assert.equal(pm.backgroundWorkers()[0]!.state, "waiting_restart");
  runtime.advance(2000);
  const second = runtime.last("hog").reportStarted();
  assert.notEqual(second, first, "restarted after bgw_restart_time");
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STARTED);
  runtime.advance(1000);
  assert.deepEqual(second.signals, [], "the new process starts with a clean record");
});

test("a death by the runtime's heap-limit signal counts as exit 1, not a crash, for a worker with a limit only", async () => {
  const { pm, runtime } = withMemory();
  runtime.heapLimitSignal = "SIGABRT";
  pm.registerBackgroundWorker(worker("hog", { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: 1 }), {
    memoryLimitMb: 64,
  });
  pm.registerBackgroundWorker(worker("bystander", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  await pm.start();
  const bystander = runtime.last("bystander").reportStarted();
  runtime.last("hog").reportStarted().exit(null, "SIGABRT");
  assert.ok(runtime.logs.some((line) => /"hog" \(PID \d+\) reached its heap limit \(memoryLimitMb 64\)/.test(line)));
  assert.deepEqual(bystander.signals, [], "no SIGQUIT: no crash cycle");
  runtime.advance(1000);
  assert.equal(runtime.count("hog"), 2, "restarted after bgw_restart_time");
  const again = runtime.last("hog").reportStarted();
  // The same signal from a worker without a limit is a crash, as in PostgreSQL.
  bystander.exit(null, "SIGABRT");
  assert.deepEqual(again.signals, ["SIGQUIT"]);
});

test("MemoryLimits without the adapter's processUsage: no check is ever scheduled", () => {
  const { runtime } = fakePostmaster();
  const scheduled = runtime.pendingTimers;
  const ctx = { adapter: runtime } as unknown as ConstructorParameters<typeof MemoryLimits>[0];
  new MemoryLimits(ctx).watch();
  assert.equal(runtime.pendingTimers, scheduled, "no /proc (another system): only the heap limit applies");
});

test("the memory check stops with the postmaster and runs only while a limited worker has a process", async () => {
  const { pm, runtime } = withMemory();
  await pm.start();
  const idle = runtime.pendingTimers;
  pm.registerDynamicBackgroundWorker(worker("hog", { bgw_restart_time: -1 }), { memoryLimitMb: 100 });
  assert.equal(runtime.pendingTimers, idle + 1);
  runtime.last("hog").reportStarted().exit(1);
  runtime.advance(1000);
  assert.equal(runtime.pendingTimers, idle, "no limited worker left: no check");
  pm.registerDynamicBackgroundWorker(worker("hog2"), { memoryLimitMb: 100 });
  const stopped = pm.stop("immediate");
  runtime.last("hog2").exit(null, "SIGKILL");
  await stopped;
  assert.equal(runtime.pendingTimers, 0);
});
