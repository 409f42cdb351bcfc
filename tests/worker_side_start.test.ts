// The start path (src/worker/bootstrap.ts) on a fake port: PostgreSQL's
// BackgroundWorkerMain from the start message to the exit code, and the
// public bindings that follow the worker's state (identity.ts, state.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BootstrapOptions, runBackgroundWorker } from "../src/worker/bootstrap.ts";
import { myBgworkerEntry, myLatch, myProcPid, procExit } from "../src/worker/identity.ts";
import type { WorkerPort } from "../src/worker/port.ts";
import { onWorkerStateChange, resetWorkerStateForTests, updateWorkerState, workerState } from "../src/worker/state.ts";
import { type BackgroundWorkerEntry, validateBackgroundWorker } from "../src/worker_spec.ts";
import { bootWorker, FakeWorkerPort, flush, startMessage, testWorker } from "./helpers/fake_worker_port.ts";

const LIBRARY = "file:///tester.ts";

test("start path: ready, then on the start message started, the library imported, main called with the argument, exit 0", async () => {
  const port = bootWorker();
  assert.deepEqual(port.sent, [{ type: "ready" }], "a booted process reports ready before anything else");
  const calls: unknown[] = [];
  port.module(LIBRARY, { main: (arg: unknown) => void calls.push(arg) });
  port.deliver(startMessage(testWorker({ bgw_main_arg: 12345678901234567890n })));
  assert.equal(await port.exited, 0);
  assert.deepEqual(port.sent.map((m) => (m as { type: string }).type), ["ready", "started"]);
  assert.deepEqual(port.imported, [LIBRARY]);
  assert.deepEqual(calls, [12345678901234567890n], "the main argument arrives by value, a bigint kept a bigint");
  assert.equal(port.title, "bgworker: test type tester");
  assert.deepEqual(port.exitCalls, [0]);
});

test("start path: the entry is rebuilt, published and reported before the library's top level runs", async () => {
  const port = bootWorker({ pid: 5151 });
  let seen: { entry: BackgroundWorkerEntry | null; pid: number; sent: number } | null = null;
  port.module(LIBRARY, () => {
    seen = { entry: myBgworkerEntry, pid: myProcPid, sent: port.messages("started").length };
    return { main: () => {} };
  });
  port.deliver(startMessage(testWorker({ bgw_name: "early", bgw_extra: new Uint8Array([1, 2]) })));
  await port.exited;
  assert.ok(seen, "the module was evaluated");
  const { entry, pid, sent } = seen as { entry: BackgroundWorkerEntry; pid: number; sent: number };
  assert.equal(entry.bgw_name, "early");
  assert.deepEqual(
    [...entry.bgw_extra.subarray(0, 3)],
    [1, 2, 0],
    "bgw_extra by value, zero-padded as PostgreSQL's char[BGW_EXTRALEN]",
  );
  assert.equal(pid, 5151);
  assert.equal(sent, 1, "started was sent before the import");
  assert.equal(workerState().postmasterPid, 1000);
});

test("start path: main's async work is awaited; a thrown error is logged at ERROR with its stack, and exits 1", async () => {
  const port = bootWorker();
  port.module(LIBRARY, {
    main: async () => {
      await Promise.resolve();
      throw new Error("boom");
    },
  });
  port.deliver(startMessage());
  assert.equal(await port.exited, 1);
  assert.equal(port.sentLogs.length, 1);
  const [first, ...frames] = port.sentLogs[0]!.split("\n");
  assert.equal(first, "ERROR:  boom");
  assert.ok(frames.length > 0 && frames.every((line) => /^\s+at /.test(line)), port.sentLogs[0]);
});

test("start path: a library not found, not loadable, or without the function is FATAL with PostgreSQL's wording, exit 1", async () => {
  const where = 'for background worker "tester" (library "./tester.ts", function "main")';
  const cases: [string, (port: FakeWorkerPort) => void, Partial<Parameters<typeof startMessage>[1]>, RegExp][] = [
    [
      "not found",
      () => {},
      { libraryUrl: null },
      /^FATAL: {2}could not access file "\.\/tester\.ts" .* not found in dynamicLibraryPath$/,
    ],
    [
      "not loadable",
      (port) =>
        port.module(LIBRARY, () => {
          throw new SyntaxError("Unexpected token");
        }),
      {},
      /^FATAL: {2}could not load library "\.\/tester\.ts" .*: Unexpected token$/,
    ],
    ["not imported", () => {}, {}, /^FATAL: {2}could not load library .*Cannot find module/],
    [
      "no function",
      (port) => port.module(LIBRARY, { other: () => {} }),
      {},
      /^FATAL: {2}could not find function "main" in file "\.\/tester\.ts" /,
    ],
  ];
  for (const [label, setup, overrides, expected] of cases) {
    const port = bootWorker();
    setup(port);
    port.deliver(startMessage(testWorker(), overrides));
    assert.equal(await port.exited, 1, label);
    assert.equal(port.sentLogs.length, 1, label);
    assert.match(port.sentLogs[0]!, expected, label);
    assert.ok(port.sentLogs[0]!.includes(where), label);
  }
});

test("start path: start parameters that do not rebuild are FATAL before anything is reported", async () => {
  const port = bootWorker();
  port.deliver({ ...startMessage(), entry: '{"bgw_name":' });
  assert.equal(await port.exited, 1);
  assert.match(port.sentLogs[0]!, /^FATAL: {2}could not rebuild the background worker's start parameters: /);
  assert.equal(port.messages("started").length, 0);
  assert.deepEqual(port.imported, []);
});

test("start path: procExit from main ends the worker with that code, and its throw on the way out is not an error", async () => {
  const port = bootWorker();
  port.module(LIBRARY, {
    main: () => {
      procExit(3);
      throw new Error("not reached in a real process");
    },
  });
  port.deliver(startMessage());
  assert.equal(await port.exited, 3);
  await flush();
  assert.deepEqual(port.sentLogs, [], "no ERROR line for the exit");
  assert.deepEqual(port.exitCalls, [3]);
  assert.throws(
    () => procExit(256),
    (e: unknown) => e instanceof RangeError && /exit code must be an integer from 0 to 255; got 256/.test(e.message),
  );
  assert.throws(() => procExit(1.5), RangeError);
});

test("start path: a second start message is ignored, and so is a ping after the start", async () => {
  const port = bootWorker({ preload: ["file:///worker.ts"] });
  let runs = 0;
  port.module(LIBRARY, { main: () => new Promise<void>(() => void runs++) }); // runs until the test ends
  port.deliver(startMessage());
  await port.nextSent((m) => m.type === "started");
  await flush();
  port.deliver(startMessage());
  port.deliver({ type: "ping", sharedMemory: false });
  await flush();
  assert.equal(runs, 1);
  assert.equal(port.messages("started").length, 1);
  assert.deepEqual(port.imported, [LIBRARY], "no warm-up import once started");
});

test("spare: a ping before the start imports the preloaded modules and loads shared memory when the cluster has it", async () => {
  const port = bootWorker({ preload: ["file:///worker.ts", "file:///other.ts"] });
  let mapperAsked = 0;
  port.sharedMemory = () => (mapperAsked++, Promise.reject(new Error("no mapper here")));
  port.deliver({ type: "ping", sharedMemory: true });
  await flush();
  assert.deepEqual(port.imported, ["file:///worker.ts", "file:///other.ts"], "failures to preload are ignored");
  assert.equal(mapperAsked, 1);
  assert.equal(port.ended, false, "a ping never ends a spare");
});

test("spare: a ping's libraries (spareWorkerLibraries) are imported after the preloaded modules; what is not a string is ignored", async () => {
  const port = bootWorker({ preload: ["file:///worker.ts"] });
  port.deliver({
    type: "ping",
    sharedMemory: false,
    libraries: ["file:///srv/app/jobs.ts", 7, "file:///srv/app/mail.ts"],
  });
  await flush();
  assert.deepEqual(port.imported, ["file:///worker.ts", "file:///srv/app/jobs.ts", "file:///srv/app/mail.ts"]);
  port.deliver({ type: "ping", sharedMemory: false, libraries: "file:///not-a-list.ts" });
  await flush();
  assert.equal(port.imported.length, 4, "a ping without a list imports the preloaded modules only");
});

test("an uncaught error in the worker is FATAL, exit 1", async () => {
  const port = bootWorker();
  port.uncaught(new TypeError("callback blew up"));
  assert.equal(await port.exited, 1);
  assert.deepEqual(port.sentLogs, ["FATAL:  uncaught error in background worker: callback blew up"]);
});

test("state as data: updateWorkerState tells subscribers, the identity bindings follow, a reset keeps the latch object", () => {
  const port = new FakeWorkerPort({ pid: 777 });
  resetWorkerStateForTests();
  assert.equal(myBgworkerEntry, null);
  assert.equal(myProcPid, 0);
  const told: (string | null)[] = [];
  const stop = onWorkerStateChange((state) => told.push(state.entry?.bgw_name ?? null));
  const options: BootstrapOptions = {};
  runBackgroundWorker(port satisfies WorkerPort, options);
  assert.equal(myProcPid, 777, "the bootstrap wrote the port, the binding followed");
  const latch = myLatch;
  updateWorkerState({ entry: validateBackgroundWorker(testWorker({ bgw_name: "by hand" }), { dynamic: true }) });
  assert.equal(
    (myBgworkerEntry as BackgroundWorkerEntry | null)?.bgw_name,
    "by hand",
    "a live binding: read after the update",
  );
  stop();
  updateWorkerState({ entry: null });
  assert.deepEqual(told, [null, "by hand"], "told of each update until unsubscribed");
  latch.isSet = true;
  resetWorkerStateForTests();
  assert.equal(myProcPid, 0);
  assert.equal(workerState().latch, latch, "myLatch stays the state's latch");
  assert.equal(latch.isSet, false);
});

test("outside a worker process, procExit says so instead of exiting", () => {
  resetWorkerStateForTests();
  assert.throws(() => procExit(0), /procExit: not inside a background worker process/);
});
