import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { BGWH_STOPPED } from "../../mod.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";
import { parseMetrics } from "../helpers/prometheus.ts";

test("metrics, real processes: a running worker's memory and CPU, its start latency, and its exit, as a real parser reads them", async () => {
  const { pm, until, notes } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("measured", "napper", { bgw_notify_pid: pm.pid }))!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    const families = parseMetrics(pm.metrics());
    const latency = families.get("bgworker_start_latency_seconds")!.metrics[0]!;
    assert.equal(latency.count, "1");
    assert.ok(Number(latency.sum) > 0 && Number(latency.sum) < 60, `registration → BGWH_STARTED: ${latency.sum} s`);
    if (process.platform === "linux") {
      const rss = families.get("bgworker_worker_resident_memory_bytes")!.metrics;
      assert.deepEqual(rss.map((m) => m.labels), [{ name: "measured", type: "measured", slot: "0" }]);
      assert.ok(Number(rss[0]!.value) > 1_000_000, `rss ${rss[0]!.value}`);
    }
    pm.terminateBackgroundWorker(handle);
    await until("the worker to stop", () => notes.some((n) => n.status === BGWH_STOPPED), 20_000);
    const after = parseMetrics(pm.metrics());
    const terminated = after.get("bgworker_worker_exits_total")!.metrics.find((m) => m.labels?.kind === "terminated");
    assert.equal(terminated?.value, "1", `the exit of ${pid}, counted as terminated`);
    assert.equal(after.get("bgworker_worker_resident_memory_bytes")!.metrics.length, 0, "no series for a gone worker");
  } finally {
    await pm.stop("immediate");
  }
});
