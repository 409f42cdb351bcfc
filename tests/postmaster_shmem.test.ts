import assert from "node:assert/strict";
import { test } from "node:test";
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { SharedMemoryApi } from "../src/postmaster/shared_memory_api.ts";
import { requireLinux } from "../src/shmem/mapper.ts";
import { fakePostmaster, type FakeRuntime, worker } from "./helpers/fake_runtime.ts";
import { FakeSharedMemory } from "./helpers/fake_shared_memory.ts";
import { parseMetrics } from "./helpers/prometheus.ts";

const SHMEM = { bgw_flags: BGWORKER_SHMEM_ACCESS };

function withSharedMemory(options: Parameters<typeof fakePostmaster>[0] = {}) {
  const made = fakePostmaster(options);
  const shm = new FakeSharedMemory();
  made.runtime.sharedMemory = () => Promise.resolve(shm);
  return { ...made, shm };
}

const startOf = (runtime: FakeRuntime, name: string) => runtime.last(name).start!;

test("shared memory: start() creates one segment sized from _PG_init's requests, announces it, then starts workers that map it", async () => {
  const { pm, runtime, shm } = withSharedMemory();
  pm.requestAddinShmemSpace(10_000);
  pm.requestNamedLWLockTranche("counters", 4);
  pm.registerBackgroundWorker(worker("mapper", SHMEM));
  pm.registerBackgroundWorker(worker("plain"));
  const spawnedAtStartup: number[] = [];
  pm.on("shmemStartup", ({ reinitialized }) => {
    spawnedAtStartup.push(runtime.spawned.length);
    assert.equal(reinitialized, false);
    // shmem_startup_hook: the postmaster may set up structs before any worker runs.
    new Int32Array(pm.shmemInitStruct("settings", 8).buffer)[0] = 7;
  });
  await pm.start();
  assert.deepEqual(spawnedAtStartup, [0], "announced once, before any worker started");
  assert.deepEqual(shm.names, [`/bgworker.${pm.pid}.1`]);
  const size = shm.segments.get(`/bgworker.${pm.pid}.1`)!.byteLength;
  assert.ok(size >= 10_000 + 16 * 4096, `${size} bytes: the request, whole pages, and slack`);
  assert.deepEqual(startOf(runtime, "mapper").sharedMemory, { name: `/bgworker.${pm.pid}.1`, size });
  assert.equal(startOf(runtime, "plain").sharedMemory, undefined, "a worker without the flag is not given the segment");
  assert.equal(pm.getNamedLWLockTranche("counters").length, 4);
  assert.equal(pm.shmemInitStruct("settings", 8).found, true);
  assert.ok(pm instanceof SharedMemoryApi, "the facade's shared memory calls come from its base");
  const usage = parseMetrics(pm.metrics());
  assert.equal(Number(usage.get("bgworker_shared_memory_reserved_bytes")!.metrics[0]!.value), size);
  const used = Number(usage.get("bgworker_shared_memory_used_bytes")!.metrics[0]!.value);
  assert.ok(used > 0 && used < size, `used ${used} of ${size}: the header, the locks and one struct`);
});

test("shared memory: requests after start are refused with PostgreSQL's reason, bad ones name the argument, and nothing earlier is lost", async () => {
  const { pm, shm } = withSharedMemory();
  pm.requestNamedLWLockTranche("kept", 2);
  assert.throws(
    () => pm.requestAddinShmemSpace(-1),
    (e: unknown) =>
      e instanceof RangeError &&
      /requestAddinShmemSpace\(bytes\): bytes must be a non-negative integer; got -1/.test(e.message),
  );
  assert.throws(() => pm.requestAddinShmemSpace(2 ** 31), /would exceed/);
  assert.throws(() => pm.requestNamedLWLockTranche("", 1), /name must be a string of 1 to 63 UTF-8 bytes/);
  assert.throws(() => pm.requestNamedLWLockTranche("x".repeat(64), 1), /1 to 63 UTF-8 bytes/);
  assert.throws(
    () => pm.requestNamedLWLockTranche("n", 0),
    /requestNamedLWLockTranche\("n", count\): count must be an integer from 1 to 65536; got 0/,
  );
  assert.throws(() => pm.requestNamedLWLockTranche("kept", 1), /a tranche of that name was already requested/);
  await pm.start();
  assert.throws(() => pm.requestAddinShmemSpace(8), /cannot request additional shared memory outside _PG_init/);
  assert.throws(() => pm.requestNamedLWLockTranche("late", 1), /cannot request additional LWLocks outside _PG_init/);
  assert.equal(pm.getNamedLWLockTranche("kept").length, 2, "the earlier request survived the bad ones");
  assert.throws(() => pm.getNamedLWLockTranche("late"), /requested tranche is not registered: "late"/);
  assert.equal(shm.names.length, 1);
});

test("shared memory: before start() the postmaster's shmemInitStruct says when it becomes available", () => {
  const { pm } = withSharedMemory();
  assert.throws(() => pm.shmemInitStruct("early", 8), /shmemInitStruct: .*created by start\(\)/);
});

test("shared memory: a crash of a worker with the flag recreates the segment, zeroed, under a new name, before anything restarts", async () => {
  const { pm, runtime, shm } = withSharedMemory();
  const startups: boolean[] = [];
  pm.on("shmemStartup", ({ reinitialized }) => startups.push(reinitialized));
  await pm.start();
  const first = `/bgworker.${pm.pid}.1`;
  pm.shmemInitStruct("state", 8);
  pm.registerDynamicBackgroundWorker(worker("survivor", SHMEM));
  pm.registerDynamicBackgroundWorker(worker("one shot", { ...SHMEM, bgw_restart_time: BGW_NEVER_RESTART }));
  pm.registerDynamicBackgroundWorker(worker("plain"));
  for (const p of runtime.live) p.reportStarted();
  const survivor = runtime.last("survivor");
  assert.equal(
    survivor.start!.sharedMemory && "name" in survivor.start!.sharedMemory && survivor.start!.sharedMemory.name,
    first,
  );

  survivor.exit(null, "SIGSEGV");
  assert.deepEqual(shm.names, [first], "nothing is recreated while processes may still map the old segment");
  runtime.last("one shot").exit(2);
  assert.deepEqual(shm.names, [first], "the worker without the flag is still running");
  runtime.last("plain").exit(2);

  const second = `/bgworker.${pm.pid}.2`;
  assert.deepEqual(shm.names, [second], "the old segment is removed and a new one made");
  assert.deepEqual(startups, [false, true]);
  assert.deepEqual(pm.shmemInitStruct("state", 8).found, false, "the new segment is empty: structs are made again");
  const restarted = runtime.last("survivor");
  assert.notEqual(restarted, survivor);
  assert.deepEqual((restarted.start!.sharedMemory as { name: string }).name, second);
  assert.equal(runtime.count("one shot"), 1, "BGW_NEVER_RESTART is forgotten");
});

test("shared memory: stop() removes the segment; after stop the API says the postmaster stopped", async () => {
  const { pm, runtime, shm } = withSharedMemory();
  await pm.start();
  pm.registerDynamicBackgroundWorker(worker("w", SHMEM));
  runtime.last("w").reportStarted();
  const stopping = pm.stop("fast");
  assert.equal(shm.names.length, 1, "kept while a worker may use it");
  runtime.last("w").exit(1);
  await stopping;
  assert.deepEqual(shm.names, []);
  assert.throws(() => pm.shmemInitStruct("late", 8), /the postmaster has stopped/);
});

test("shared memory: start() removes segments of postmasters that are gone, and leaves live ones and other names alone", async () => {
  const { pm, runtime, shm } = withSharedMemory();
  runtime.alivePids.add(4242);
  for (
    const name of [
      "/bgworker.77.1",
      "/bgworker.77.3",
      "/bgworker.4242.1",
      `/bgworker.${pm.pid}.1`,
      "/bgworker.x.1",
      "/other",
    ]
  ) shm.create(name, 4096);
  await pm.start();
  assert.deepEqual(shm.list().sort(), ["/bgworker.4242.1", `/bgworker.${pm.pid}.1`, "/bgworker.x.1", "/other"].sort());
  assert.ok(
    runtime.logs.includes(
      'LOG:  removed shared memory segment "/bgworker.77.1" left by a postmaster (PID 77) that is gone',
    ),
    runtime.logs.join("\n"),
  );
  // The leftover with the postmaster's own pid was not made by this process: an earlier process had this pid. It was replaced.
  assert.ok(
    runtime.logs.includes(
      `LOG:  removed shared memory segment "/bgworker.${pm.pid}.1" left by a postmaster (PID ${pm.pid}) that is gone`,
    ),
  );
  assert.notEqual(shm.segments.get(`/bgworker.${pm.pid}.1`)!.byteLength, 4096, "the segment of that name is a new one");
});

test("shared memory: two postmasters in one process get a segment each and never remove each other's", async () => {
  const shm = new FakeSharedMemory();
  const a = fakePostmaster();
  const b = fakePostmaster();
  a.runtime.sharedMemory = b.runtime.sharedMemory = () => Promise.resolve(shm);
  await a.pm.start();
  await b.pm.start();
  assert.deepEqual(shm.names, [`/bgworker.${a.pm.pid}.1`, `/bgworker.${a.pm.pid}.2`]);
  await b.pm.stop();
  assert.deepEqual(shm.names, [`/bgworker.${a.pm.pid}.1`]);
  await a.pm.stop();
});

test("shared memory: without it (no mapper, or one that fails) everything else works; the API and the workers say why", async () => {
  const { pm, runtime } = fakePostmaster();
  await pm.start();
  pm.registerDynamicBackgroundWorker(worker("wants it", SHMEM));
  assert.deepEqual(runtime.last("wants it").start!.sharedMemory, {
    unavailable: "shared memory is not available: this runtime adapter offers no shared memory",
  });
  assert.throws(() => pm.getNamedLWLockTranche("x"), /getNamedLWLockTranche: shared memory is not available/);

  const failing = fakePostmaster();
  failing.runtime.sharedMemory = () => Promise.reject(new Error("koffi could not be loaded"));
  await failing.pm.start();
  assert.throws(
    () => failing.pm.shmemInitStruct("x", 4),
    /shmemInitStruct: shared memory is not available: koffi could not be loaded/,
  );
});

test("shared memory: requests that cannot be honoured make start() fail, and it may be tried again", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.requestAddinShmemSpace(4096);
  pm.registerBackgroundWorker(worker("static"));
  await assert.rejects(
    pm.start(),
    /could not create the shared memory that _PG_init requested: shared memory is not available: this runtime adapter offers no shared memory/,
  );
  assert.equal(runtime.spawned.length, 0, "no worker started");
  const shm = new FakeSharedMemory();
  runtime.sharedMemory = () => Promise.resolve(shm);
  await pm.start();
  assert.equal(shm.names.length, 1);
  assert.equal(runtime.count("static"), 1, "the static worker registered before is still there");
});

test("shared memory: a platform without POSIX shared memory gets an error naming it", () => {
  assert.throws(() => requireLinux("darwin"), /shared memory is not available on darwin/);
  assert.doesNotThrow(() => requireLinux("linux"));
});

test("shared memory: spares get ready to map it only once the cluster has registered a worker with the flag", async () => {
  const { pm, runtime } = withSharedMemory({ spareWorkerProcesses: 1 });
  await pm.start();
  runtime.advance(0);
  const pings = () => runtime.spawned.flatMap((p) => p.sent.filter((m) => (m as { type?: string }).type === "ping"));
  runtime.live[0]!.post({ type: "ready" });
  assert.deepEqual(
    pings(),
    [{ type: "ping", sharedMemory: false }],
    "no worker needs it yet: spares do not load the runtime's FFI",
  );
  pm.registerDynamicBackgroundWorker(worker("mapper", SHMEM)); // takes the spare
  await Promise.resolve(); // the start message leaves after the registration call
  runtime.last("mapper").reportStarted();
  runtime.advance(0);
  runtime.live.find((p) => p.start === null)!.post({ type: "ready" });
  assert.deepEqual(pings().at(-1), { type: "ping", sharedMemory: true });
});
