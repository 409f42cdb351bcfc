import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { Postmaster } from "../src/postmaster/postmaster.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

test("start times: PostmasterStart at once, ConsistentState at hot standby, RecoveryFinished at normal running", async () => {
  const { pm, runtime } = fakePostmaster({ recovery: true });
  pm.registerBackgroundWorker(worker("pm-start", { bgw_start_time: 0 }));
  pm.registerBackgroundWorker(worker("consistent", { bgw_start_time: 1 }));
  pm.registerBackgroundWorker(worker("finished", { bgw_start_time: 2 }));
  assert.equal(runtime.spawned.length, 0, "nothing starts before start()");
  await pm.start();
  assert.deepEqual(runtime.spawned.map((p) => p.entryName), ["pm-start"]);
  pm.beginHotStandby();
  assert.deepEqual(runtime.spawned.map((p) => p.entryName), ["pm-start", "consistent"]);
  pm.finishRecovery();
  assert.deepEqual(runtime.spawned.map((p) => p.entryName), ["pm-start", "consistent", "finished"]);
  assert.ok(runtime.spawned.every((p) => p.signals.length === 0), "no worker is stopped because the state changes");
});

test("without recovery every start time is reached at start()", async () => {
  const { pm, runtime } = fakePostmaster();
  for (const t of [0, 1, 2] as const) pm.registerBackgroundWorker(worker(`w${t}`, { bgw_start_time: t }));
  await pm.start();
  assert.equal(runtime.spawned.length, 3);
});

test("finishRecovery straight from recovery starts ConsistentState workers too, and the state never goes back", async () => {
  const { pm, runtime } = fakePostmaster({ recovery: true });
  pm.registerBackgroundWorker(worker("consistent", { bgw_start_time: 1 }));
  await pm.start();
  pm.finishRecovery();
  pm.beginHotStandby();
  assert.equal(runtime.count("consistent"), 1);
  assert.ok(runtime.logs.includes("LOG:  database system is ready to accept connections"));
});

test("a dynamic worker registered before start() starts with the others", async () => {
  const { pm, runtime } = fakePostmaster();
  const handle = pm.registerDynamicBackgroundWorker(worker("early"));
  assert.ok(handle);
  assert.equal(runtime.spawned.length, 0);
  await pm.start();
  assert.equal(runtime.count("early"), 1);
});

test("registerBackgroundWorker after start() is refused; dynamic registration is the way", async () => {
  const { pm } = fakePostmaster();
  await pm.start();
  assert.throws(() => pm.registerBackgroundWorker(worker("late")), (e: unknown) => {
    assert.ok(e instanceof BackgroundWorkerError);
    assert.equal(e.message, 'background worker "late": must be registered in shared_preload_libraries');
    assert.equal(e.code, "object_not_in_prerequisite_state");
    return true;
  });
  assert.ok(pm.registerDynamicBackgroundWorker(worker("late")));
  await assert.rejects(pm.start(), /already running/);
});

test("sharedPreloadLibraries: _PG_init(pm) registers static workers during start()", async () => {
  const { pm, runtime } = fakePostmaster({
    sharedPreloadLibraries: ["./ext/one.ts", "two"],
    dynamicLibraryPath: ["/opt/libs"],
  });
  const seen: Postmaster[] = [];
  runtime.modules.set("file:///srv/app/ext/one.ts", {
    _PG_init(p: Postmaster) {
      seen.push(p);
      p.registerBackgroundWorker(worker("from one"));
    },
  });
  runtime.files.add("/opt/libs/two.js");
  runtime.modules.set("file:///opt/libs/two.js", {
    async _PG_init(p: Postmaster) {
      await Promise.resolve();
      p.registerBackgroundWorker(worker("from two"));
    },
  });
  await pm.start();
  assert.deepEqual(seen, [pm]);
  assert.deepEqual(runtime.spawned.map((p) => p.entryName), ["from one", "from two"]);
});

test("a preload library without _PG_init is fine; a missing one fails start() clearly and keeps registrations", async () => {
  const { pm, runtime } = fakePostmaster({ sharedPreloadLibraries: ["/lib/plain.ts", "/lib/missing.ts"] });
  runtime.modules.set("file:///lib/plain.ts", {});
  pm.registerBackgroundWorker(worker("kept"));
  await assert.rejects(pm.start(), /could not load library "\/lib\/missing.ts"/);
  assert.deepEqual(pm.backgroundWorkers().map((w) => w.bgw_name), ["kept"]);
  assert.equal(runtime.spawned.length, 0);
});

test("a bare preload name not in dynamicLibraryPath fails start() naming it", async () => {
  const { pm } = fakePostmaster({ sharedPreloadLibraries: ["nowhere"] });
  await assert.rejects(pm.start(), /could not access file "nowhere"/);
});

test("the start message carries the entry by value and the resolved library", async () => {
  const { pm, runtime } = fakePostmaster({ dynamicLibraryPath: ["lib"] });
  runtime.files.add("/srv/app/lib/counter.ts");
  await pm.start();
  pm.registerDynamicBackgroundWorker(worker("c", { bgw_library_name: "counter", bgw_main_arg: 7n }));
  const start = runtime.last("c").start!;
  assert.equal(start.type, "start");
  assert.equal(start.libraryUrl, "file:///srv/app/lib/counter.ts");
  assert.equal(start.postmasterPid, pm.pid);
  assert.equal(typeof start.entry, "string");
  assert.match(start.entry, /"bgw_main_arg":\{"bigint":"7"\}/);
});

test("a failed spawn counts as exit 1: retried after the restart interval", async () => {
  const { pm, runtime } = fakePostmaster();
  runtime.spawnFailures = 1;
  pm.registerBackgroundWorker(worker("w", { bgw_restart_time: 3 }));
  await pm.start();
  assert.equal(runtime.spawned.length, 0);
  assert.ok(runtime.logs.some((l) => /could not fork worker process for background worker "w"/.test(l)));
  runtime.advance(3000);
  assert.equal(runtime.count("w"), 1);
});

test("signals for a worker still booting are held until it reports in, as PostgreSQL's workers start with signals blocked; SIGKILL is not held", async () => {
  const { pm, runtime } = fakePostmaster({ stopTimeoutMs: 100 });
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(worker("booting", { bgw_flags: BGWORKER_SHMEM_ACCESS }))!;
  const process = runtime.last("booting");
  pm.reloadConfiguration();
  pm.terminateBackgroundWorker(handle);
  assert.deepEqual(process.signals, [], "nothing reaches a runtime that has no handlers yet");
  process.reportStarted();
  assert.deepEqual(process.signals, ["SIGHUP", "SIGTERM"], "delivered in order once it is up");

  assert.ok(pm.registerDynamicBackgroundWorker(worker("stuck in boot")));
  const stuckProcess = runtime.last("stuck in boot");
  void pm.stop("fast");
  process.exit(1);
  assert.deepEqual(stuckProcess.signals, []);
  runtime.advance(100);
  assert.deepEqual(stuckProcess.signals, ["SIGKILL"], "the stop timeout's SIGKILL is not held");
});
