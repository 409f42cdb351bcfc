import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED } from "../src/constants.ts";
import { isTypeScriptUrl } from "../src/typescript_url.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

const spares = (runtime: ReturnType<typeof fakePostmaster>["runtime"]) => runtime.live.filter((p) => p.start === null);

test("spares: spareWorkerProcesses keeps n runtimes booted, outside the slots and the worker list", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 2, maxWorkerProcesses: 1 });
  await pm.start();
  runtime.advance(0);
  assert.equal(spares(runtime).length, 2);
  assert.deepEqual(pm.backgroundWorkers(), []);
  assert.ok(pm.registerDynamicBackgroundWorker(worker("only")), "the spares take no slot");
});

test("spares: a registration hands its entry, by value, to a booted spare instead of spawning; the spare is replaced afterwards", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 2 });
  await pm.start();
  runtime.advance(0);
  const [cold, warm] = spares(runtime);
  warm!.post({ type: "ready" }); // only the second has booted: it is preferred
  const spawnedBefore = runtime.spawned.length;
  const handle = pm.registerDynamicBackgroundWorker(worker("fast", { bgw_notify_pid: pm.pid, bgw_main_arg: 7 }))!;
  assert.equal(runtime.spawned.length, spawnedBefore, "no spawn on the registration's path");
  // As after PostgreSQL's fork: the pid exists, so the worker counts as started at once.
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_STARTED, pid: warm!.pid });
  // Read through a call: an assertion on the property itself would narrow it to null for the lines below.
  const startOf = (process: { start: unknown }) => process.start;
  assert.equal(startOf(warm!), null, "the start message leaves after the registration call returns");
  await Promise.resolve();
  assert.equal(warm!.start?.type, "start");
  assert.match(warm!.start!.entry, /"bgw_name":"fast"/);
  assert.equal(cold!.start, null);
  // Its signals are held until it acknowledges the start, as a booting worker's are.
  pm.reloadConfiguration();
  assert.deepEqual(warm!.signals, []);
  warm!.reportStarted();
  assert.deepEqual(warm!.signals, ["SIGHUP"]);
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_STARTED, pid: warm!.pid });
  warm!.reportStarted();
  assert.deepEqual(warm!.signals, ["SIGHUP", "SIGKILL"], "a second report is a protocol violation");
  assert.equal(runtime.spawned.length, spawnedBefore, "the refill waits for a later turn of the event loop");
  runtime.advance(0);
  assert.equal(spares(runtime).length, 2, "refilled in the background");
});

test("spares: a spare serves one worker only; its restart takes another process", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 1 });
  await pm.start();
  runtime.advance(0);
  pm.registerDynamicBackgroundWorker(worker("restarting", { bgw_restart_time: 1 }));
  await Promise.resolve();
  const first = runtime.last("restarting").reportStarted();
  runtime.advance(0);
  first.exit(1);
  runtime.advance(1000);
  await Promise.resolve();
  const second = runtime.last("restarting");
  assert.notEqual(second.pid, first.pid);
  assert.equal(first.sent.filter((m) => (m as { type: string }).type === "start").length, 1);
});

test("spares: without the option nothing is spawned ahead, as before", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  runtime.advance(1000);
  assert.equal(runtime.spawned.length, 0);
});

test("spares die with the postmaster: stop() kills them (they run no user code) and resolves once they are gone", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 2 });
  await pm.start();
  runtime.advance(0);
  let stopped = false;
  void pm.stop("smart").then(() => stopped = true);
  for (const spare of spares(runtime)) assert.deepEqual(spare.signals, ["SIGKILL"]);
  await Promise.resolve();
  assert.equal(stopped, false, "not before the spares are gone");
  for (const spare of spares(runtime)) spare.exit(null, "SIGKILL");
  await Promise.resolve();
  assert.equal(stopped, true);
  runtime.advance(5000);
  assert.equal(runtime.spawned.length, 2, "never refilled after stop");
});

test("spares: one that dies unused is logged and replaced after a delay, so a runtime that cannot boot does not spin", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 1 });
  await pm.start();
  runtime.advance(0);
  const [spare] = spares(runtime);
  spare!.exit(1);
  assert.ok(
    runtime.logs.includes(`LOG:  spare worker process (PID ${spare!.pid}) exited unused (exit code 1)`),
    runtime.logs.join("\n"),
  );
  runtime.advance(999);
  assert.equal(spares(runtime).length, 0);
  runtime.advance(1);
  assert.equal(spares(runtime).length, 1);
});

test("spares: one that sends anything but 'ready' before it has a worker is logged and killed", async () => {
  const { pm, runtime } = fakePostmaster({ spareWorkerProcesses: 1 });
  await pm.start();
  runtime.advance(0);
  const [spare] = spares(runtime);
  spare!.post({ type: "started" });
  assert.deepEqual(spare!.signals, ["SIGKILL"]);
  assert.ok(
    runtime.logs.some((l) =>
      l.startsWith(
        `WARNING:  spare worker process (PID ${
          spare!.pid
        }) broke the protocol on its channel: sent "started" before it was given a worker`,
      )
    ),
    runtime.logs.join("\n"),
  );
});

test("spareWorkerProcesses must be an integer from 0 to 1024", () => {
  for (const bad of [-1, 1.5, 2000, Number.NaN]) {
    assert.throws(
      () => fakePostmaster({ spareWorkerProcesses: bad }),
      /spareWorkerProcesses must be an integer from 0 to 1024/,
    );
  }
});

test("spareWorkerLibraries: resolved like bgw_library_name and sent with each spare's ping; checked like every option", async () => {
  const { pm, runtime } = fakePostmaster({
    spareWorkerProcesses: 1,
    spareWorkerLibraries: ["./jobs.ts", "mailer", "file:///opt/lib/x.js"],
    dynamicLibraryPath: ["/srv/lib"],
  });
  runtime.files.add("/srv/lib/mailer.ts");
  await pm.start();
  runtime.advance(0);
  spares(runtime)[0]!.post({ type: "ready" });
  assert.deepEqual(spares(runtime)[0]!.sent, [{
    type: "ping",
    sharedMemory: false,
    libraries: ["file:///srv/app/jobs.ts", "file:///srv/lib/mailer.ts", "file:///opt/lib/x.js"],
  }]);
  assert.throws(
    () => fakePostmaster({ spareWorkerLibraries: ["./a.ts", ""] }),
    /^TypeError: spareWorkerLibraries\[1\] must be a non-empty string; got the string ""$/,
  );
  const plain = fakePostmaster({ spareWorkerProcesses: 1 });
  await plain.pm.start();
  plain.runtime.advance(0);
  spares(plain.runtime)[0]!.post({ type: "ready" });
  assert.deepEqual(
    spares(plain.runtime)[0]!.sent,
    [{ type: "ping", sharedMemory: false }],
    "no list without the option",
  );
});

test("spares: spawned expecting a TypeScript worker only when a spareWorkerLibraries module is TypeScript", async () => {
  const typed = fakePostmaster({
    spareWorkerProcesses: 1,
    spareWorkerLibraries: ["./plain.mjs", "./jobs.mts"],
    workerOutput: "logger",
  });
  await typed.pm.start();
  typed.runtime.advance(0);
  assert.deepEqual(spares(typed.runtime)[0]!.options, { captureOutput: true, typeScript: true });
  const plain = fakePostmaster({ spareWorkerProcesses: 1, spareWorkerLibraries: ["./plain.mjs"] });
  await plain.pm.start();
  plain.runtime.advance(0);
  assert.equal(
    spares(plain.runtime)[0]!.options.typeScript,
    undefined,
    "tsx would cost each Node 20 spare 100-200 ms of CPU",
  );
  // Any TypeScript worker may still take a lean spare (its process loads what it needs then): no spawn.
  const spawned = plain.runtime.spawned.length;
  plain.pm.registerDynamicBackgroundWorker(worker("typed", { bgw_library_name: "./jobs.ts" }));
  assert.equal(plain.runtime.spawned.length, spawned);
});

test("TypeScript modules are told by the extension of their path, whatever the query or fragment", () => {
  for (const url of ["file:///a/w.ts", "file:///a/w.mts", "file:///a/w.cts", "/a/w.tsx", "file:///a/w.ts?v=2#x"]) {
    assert.equal(isTypeScriptUrl(url), true, url);
  }
  for (
    const url of ["file:///a/w.js", "file:///a/w.mjs", "file:///a/ts", "file:///a/w.d.ts.js", "file:///a/w.js?x=.ts"]
  ) {
    assert.equal(isTypeScriptUrl(url), false, url);
  }
});
