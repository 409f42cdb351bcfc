import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import type { WorkerEvent } from "../src/postmaster/events.ts";
import { Postmaster } from "../src/postmaster/postmaster.ts";
import { fakePostmaster, FakeRuntime, worker } from "./helpers/fake_runtime.ts";

/** A fake runtime whose processes report memory and CPU, as Linux's /proc would. */
class MeasuringRuntime extends FakeRuntime {
  override processUsage = (pid: number) => ({ rssBytes: pid * 1024, cpuSeconds: 0.25 });
}

test("worker events: registered, started, exited, restart_scheduled, started again, then exited and unregistered", async () => {
  const { pm, runtime } = fakePostmaster();
  const events: WorkerEvent[] = [];
  pm.on("worker", (event) => events.push(event));
  const handle = pm.registerDynamicBackgroundWorker(worker("w", { bgw_restart_time: 10 }))!;
  await pm.start();
  const first = runtime.last("w").reportStarted();
  first.exit(1);
  runtime.advance(10_000);
  const second = runtime.last("w").reportStarted();
  pm.terminateBackgroundWorker(handle);
  second.exit(null, "SIGTERM");
  assert.deepEqual(events.map((e) => e.kind), [
    "registered",
    "started",
    "exited",
    "restart_scheduled",
    "started",
    "exited",
    "unregistered",
  ]);
  for (const event of events) {
    assert.deepEqual([event.handle, event.name, event.type], [handle, "w", "w"]);
    assert.ok(Math.abs(event.at - Date.now()) < 60_000, "at is epoch ms");
  }
  const started = events[1]!, exited = events[2]!, scheduled = events[3]!;
  assert.equal(started.kind === "started" && started.pid, first.pid);
  assert.deepEqual(exited.kind === "exited" && [exited.pid, exited.code, exited.signal], [first.pid, 1, null]);
  assert.ok(scheduled.kind === "restart_scheduled" && scheduled.restartAt - scheduled.at === 10_000);
  const last = events[5]!;
  assert.deepEqual(
    last.kind === "exited" && [last.code, last.signal],
    [null, "SIGTERM"],
    "the raw exit, as the process ended",
  );
});

test("status: state, restarts, lastExit, startedAt, nextRestartAt, and the running process's memory and CPU", async () => {
  const runtime = new MeasuringRuntime();
  const pm = new Postmaster({ adapter: runtime, logger: () => {}, recovery: true });
  pm.registerBackgroundWorker(worker("later", { bgw_start_time: 2 }));
  pm.registerBackgroundWorker(worker("flaky", { bgw_restart_time: 30 }));
  await pm.start();
  const status = (name: string) => pm.backgroundWorkers().find((w) => w.bgw_name === name)!;
  assert.deepEqual(
    [status("later").state, status("later").restarts, status("later").lastExit, status("later").rssBytes],
    ["not_yet_started", 0, null, null],
  );
  assert.equal(status("flaky").state, "starting");
  const flaky = runtime.last("flaky").reportStarted();
  const running = status("flaky");
  assert.deepEqual([running.state, running.rssBytes, running.cpuSeconds], ["running", flaky.pid * 1024, 0.25]);
  assert.ok(running.startedAt !== null && Math.abs(running.startedAt - Date.now()) < 60_000);
  flaky.exit(1);
  const waiting = status("flaky");
  assert.deepEqual([waiting.state, waiting.startedAt, waiting.rssBytes, waiting.lastExit?.code], [
    "waiting_restart",
    null,
    null,
    1,
  ]);
  assert.ok(waiting.nextRestartAt !== null && waiting.nextRestartAt - waiting.lastExit!.at >= 29_000);
  runtime.advance(30_000);
  runtime.last("flaky").reportStarted();
  assert.deepEqual([status("flaky").restarts, status("flaky").nextRestartAt], [1, null]);
  pm.terminateBackgroundWorker(status("flaky").handle);
  assert.equal(status("flaky").state, "stopping");
  assert.equal(pm.getBackgroundWorkerPid(status("later").handle).status, 1, "PostgreSQL's three answers are unchanged");
});

test("terminate that terminates: still running stopTimeoutMs after SIGTERM, a WARNING that names it, then SIGKILL, never a crash", async () => {
  const { pm, runtime } = fakePostmaster({ stopTimeoutMs: 2000 });
  pm.registerBackgroundWorker(worker("deaf", { bgw_flags: BGWORKER_SHMEM_ACCESS }));
  pm.registerBackgroundWorker(worker("bystander"));
  await pm.start();
  const deaf = runtime.last("deaf").reportStarted();
  const bystander = runtime.last("bystander").reportStarted();
  const handle = pm.backgroundWorkers()[0]!.handle;
  pm.terminateBackgroundWorker(handle);
  assert.deepEqual(deaf.signals, ["SIGTERM"]);
  runtime.advance(1999);
  assert.deepEqual(deaf.signals, ["SIGTERM"]);
  runtime.advance(1);
  assert.deepEqual(deaf.signals, ["SIGTERM", "SIGKILL"]);
  const warning = runtime.logs.find((l) => l.startsWith("WARNING:"))!;
  assert.match(
    warning,
    /background worker "deaf" \(PID \d+\) did not exit within 2000 ms of terminateBackgroundWorker/,
  );
  assert.match(warning, /signals may still be blocked \(backgroundWorkerUnblockSignals\(\)\)/);
  deaf.exit(null, "SIGKILL");
  assert.equal(pm.getBackgroundWorkerPid(handle).status, BGWH_STOPPED);
  assert.deepEqual(bystander.signals, [], "the postmaster's own SIGKILL is no crash");
  assert.equal(runtime.pendingTimers, 0);
});

test("a worker that obeys its terminate leaves no timer behind", async () => {
  const { pm, runtime } = fakePostmaster();
  const handle = pm.registerDynamicBackgroundWorker(worker("obedient"))!;
  await pm.start();
  const child = runtime.last("obedient").reportStarted();
  pm.terminateBackgroundWorker(handle);
  child.exit(null, "SIGTERM");
  assert.equal(runtime.pendingTimers, 0);
  runtime.advance(60_000);
  assert.deepEqual(child.signals, ["SIGTERM"]);
});
