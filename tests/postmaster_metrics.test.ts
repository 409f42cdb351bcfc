import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { Listeners } from "../src/listeners.ts";
import type { PostmasterEvents } from "../src/postmaster/events.ts";
import { PostmasterMetrics } from "../src/postmaster/metrics.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";
import { parseMetrics } from "./helpers/prometheus.ts";

const valueOf = (families: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string> = {}) => {
  const family = families.get(name);
  assert.ok(family, `family ${name}`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(sample, `${name} ${JSON.stringify(labels)}`);
  return Number(sample.value);
};

test("metrics: starts, exits by kind, restarts, crash cycles and failures are counted, in a format a real parser reads", async () => {
  const { pm, runtime } = fakePostmaster({ maxWorkerProcesses: 6 });
  runtime.processUsage = (pid) => ({ rssBytes: pid * 1000, cpuSeconds: 0.5 });
  const odd = 'we"ird \\ name';
  pm.registerBackgroundWorker(worker(odd, { bgw_type: "odd\ntype", bgw_restart_time: 1 }));
  pm.registerBackgroundWorker(worker("shm", { bgw_flags: BGWORKER_SHMEM_ACCESS, bgw_restart_time: 1 }));
  await pm.start();
  runtime.last(odd).reportStarted().exit(1); // counted as "1", restart scheduled
  runtime.last("shm").reportStarted().exit(null, "SIGSEGV"); // a crash: the cycle restarts both
  runtime.advance(1000);
  runtime.last(odd).reportStarted();
  runtime.last("shm").reportStarted();
  const handle = pm.registerDynamicBackgroundWorker(worker("done", { bgw_restart_time: -1 }))!;
  runtime.last("done").reportStarted().exit(0);
  const gone = pm.registerDynamicBackgroundWorker(worker("gone"))!;
  runtime.last("gone").reportStarted();
  pm.terminateBackgroundWorker(gone);
  runtime.last("gone").exit(null, "SIGTERM");
  void handle;

  const families = parseMetrics(pm.metrics());
  assert.equal(families.get("bgworker_worker_exits_total")!.type, "COUNTER");
  assert.deepEqual(
    ["0", "1", "crash", "signal", "terminated"].map((kind) =>
      valueOf(families, "bgworker_worker_exits_total", { kind })
    ),
    [1, 1, 1, 0, 1],
  );
  assert.equal(valueOf(families, "bgworker_crash_cycles_total"), 1);
  assert.equal(valueOf(families, "bgworker_worker_starts_total"), 6);
  assert.ok(valueOf(families, "bgworker_worker_restarts_total") >= 2);
  assert.equal(valueOf(families, "bgworker_workers", { state: "running" }), 2);
  assert.equal(valueOf(families, "bgworker_max_worker_processes"), 6);
  assert.equal(valueOf(families, "bgworker_slots_in_use"), 2);
  const latency = families.get("bgworker_start_latency_seconds")!;
  assert.equal(latency.type, "HISTOGRAM");
  assert.equal(Number(latency.metrics[0]!.count), 4, "one observation per registration's first start");
  // Label values escaped and read back whole; no pid label anywhere.
  const rss = families.get("bgworker_worker_resident_memory_bytes")!.metrics;
  assert.deepEqual(rss.map((m) => m.labels).find((l) => l?.slot === "0"), { name: odd, type: "odd\ntype", slot: "0" });
  assert.ok(!pm.metrics().includes("pid="), "no pid labels: bounded cardinality");
});

test("metrics: failures by restart intensity, and the registration → BGWH_STARTED latency", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerDynamicBackgroundWorker(worker("flaky", { bgw_restart_time: 1 }), {
    restart: { intensity: { maxRestarts: 1, withinSeconds: 60 } },
  });
  await pm.start();
  runtime.last("flaky").reportStarted().exit(1);
  runtime.advance(1000);
  runtime.last("flaky").reportStarted().exit(1);
  const families = parseMetrics(pm.metrics());
  assert.equal(valueOf(families, "bgworker_workers_failed_total"), 1);
  assert.equal(valueOf(families, "bgworker_workers", { state: "failed" }), 1);
  assert.equal(valueOf(families, "bgworker_slots_in_use"), 0, "a failed worker's slot is free");
  // Event times are the wall clock's, which the fake clock does not move: the shape is what is checked here.
  const latency = families.get("bgworker_start_latency_seconds")!.metrics[0]!;
  assert.equal(latency.count, "1", "restarts are not registrations");
  // By bound: an object lists integer-like keys ("1", "5", "10") first.
  const counts = Object.entries(latency.buckets!).sort(([a], [b]) => Number(a) - Number(b)).map(([, n]) => Number(n));
  assert.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]!), `cumulative buckets: ${counts}`);
  assert.equal(counts.at(-1), 1);
  assert.ok(Number(latency.sum) >= 0);
});

test("PostmasterMetrics alone: empty, every family is still there, with zeros", () => {
  const metrics = new PostmasterMetrics(new Listeners<PostmasterEvents>(() => {}));
  const families = parseMetrics(
    metrics.render({ workers: [], maxWorkerProcesses: 8, sparesIdle: 2, sharedMemory: null }),
  );
  assert.equal(valueOf(families, "bgworker_spares_idle"), 2);
  assert.equal(valueOf(families, "bgworker_shared_memory_reserved_bytes"), 0);
  assert.equal(valueOf(families, "bgworker_workers", { state: "waiting_restart" }), 0);
  assert.equal(families.get("bgworker_worker_cpu_seconds")!.metrics.length, 0);
});
