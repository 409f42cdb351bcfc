import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STOPPED } from "../src/constants.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => done = true);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

test('stop("fast"): SIGTERM to all, resolves when all are gone', async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("a"));
  pm.registerBackgroundWorker(worker("b"));
  await pm.start();
  const [a, b] = runtime.spawned.map((p) => p.reportStarted());
  const stopping = pm.stop("fast");
  assert.deepEqual([a!.signals, b!.signals], [["SIGTERM"], ["SIGTERM"]]);
  a!.exit(1);
  assert.equal(await settled(stopping), false, "one worker is left");
  b!.exit(1);
  assert.equal(await settled(stopping), true);
  runtime.advance(60_000);
  assert.equal(runtime.spawned.length, 2, "nothing restarts after a stop");
  assert.ok(runtime.logs.includes("LOG:  received fast shutdown request"));
  assert.ok(runtime.logs.includes("LOG:  database system is shut down"));
});

test('stop("fast") sends SIGKILL to a worker that ignores SIGTERM after stopTimeoutMs', async () => {
  const { pm, runtime } = fakePostmaster({ stopTimeoutMs: 2000 });
  pm.registerBackgroundWorker(worker("stubborn"));
  await pm.start();
  const process = runtime.last("stubborn").reportStarted();
  const stopping = pm.stop("fast");
  runtime.advance(1999);
  assert.deepEqual(process.signals, ["SIGTERM"]);
  runtime.advance(1);
  assert.deepEqual(process.signals, ["SIGTERM", "SIGKILL"]);
  assert.ok(runtime.logs.includes("LOG:  issuing SIGKILL to recalcitrant children"));
  process.exit(null, "SIGKILL");
  await stopping;
  assert.equal(runtime.pendingTimers, 0, "no timer outlives the postmaster");
});

test('stop("immediate"): SIGQUIT to all', async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("a"));
  await pm.start();
  const process = runtime.last("a").reportStarted();
  const stopping = pm.stop("immediate");
  assert.deepEqual(process.signals, ["SIGQUIT"]);
  process.exit(2);
  await stopping;
});

test('stop("smart"): no new dynamic workers, no signals, waits for the running ones to finish', async () => {
  const { pm, runtime } = fakePostmaster({ recovery: true });
  pm.registerBackgroundWorker(worker("runner", { bgw_restart_time: 0 }));
  pm.registerBackgroundWorker(worker("not yet", { bgw_start_time: 2 }));
  await pm.start();
  const runner = runtime.last("runner").reportStarted();
  const stopping = pm.stop("smart");
  assert.deepEqual(runner.signals, []);
  assert.equal(pm.registerDynamicBackgroundWorker(worker("refused")), null);
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["runner"], "a worker that never started is dropped");
  runtime.advance(60_000);
  assert.equal(await settled(stopping), false);
  runner.exit(1);
  runtime.advance(0);
  assert.equal(runtime.count("runner"), 1, "not restarted during a smart shutdown");
  await stopping;
});

test("a stronger mode takes over a pending smart shutdown; a weaker one changes nothing", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("a"));
  await pm.start();
  const process = runtime.last("a").reportStarted();
  const smart = pm.stop("smart");
  const fast = pm.stop("fast");
  void pm.stop("smart");
  assert.deepEqual(process.signals, ["SIGTERM"]);
  process.exit(1);
  await Promise.all([smart, fast]);
});

test("stop() before start() and twice is harmless; handles answer BGWH_STOPPED afterwards", async () => {
  const { pm, runtime } = fakePostmaster();
  const handle = pm.registerDynamicBackgroundWorker(worker("d"))!;
  await pm.stop();
  await pm.stop("immediate");
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED);
  assert.equal(runtime.spawned.length, 0);
  await assert.rejects(pm.stop("gentle" as never), /stop mode must be/);
});

test("a worker waiting for its restart is dropped by stop() without a spawn", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("r", { bgw_restart_time: 30 }));
  await pm.start();
  runtime.last("r").reportStarted().exit(1);
  await pm.stop("fast");
  runtime.advance(60_000);
  assert.equal(runtime.count("r"), 1);
  assert.equal(runtime.pendingTimers, 0);
});

test("reloadConfiguration sends SIGHUP to every running worker, logs it like PostgreSQL, and changes nothing else", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("a"));
  pm.registerBackgroundWorker(worker("b"));
  await pm.start();
  const a = runtime.last("a").reportStarted();
  const b = runtime.last("b").reportStarted();
  pm.reloadConfiguration();
  assert.deepEqual(a.signals, ["SIGHUP"]);
  assert.deepEqual(b.signals, ["SIGHUP"]);
  assert.ok(runtime.logs.includes("LOG:  received SIGHUP, reloading configuration files"));
  assert.equal(pm.backgroundWorkers().length, 2);
});
