// Shared memory inside a worker (src/worker/shmem.ts, and the start path's
// mapping in src/worker/bootstrap.ts) on a fake port and an in-memory mapper.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { StartMessage } from "../src/protocol.ts";
import { initializeSegment, segmentSize, ShmemIndex } from "../src/shmem/segment.ts";
import { procExit } from "../src/worker/identity.ts";
import { getNamedLWLockTranche, shmemInitStruct } from "../src/worker/shmem.ts";
import { backgroundWorkerUnblockSignals } from "../src/worker/signals.ts";
import { resetWorkerStateForTests } from "../src/worker/state.ts";
import { bootWorker, type FakeWorkerPort, startMessage, testWorker, WorkerExit } from "./helpers/fake_worker_port.ts";
import { FakeSharedMemory } from "./helpers/fake_shared_memory.ts";

const LIBRARY = "file:///tester.ts";
const SEGMENT = "/bgworker.1000.1";

/** A cluster's segment as the postmaster lays it out, with one tranche of two locks. */
function cluster(): { shm: FakeSharedMemory; location: { name: string; size: number }; lockFree(): boolean } {
  const shm = new FakeSharedMemory();
  const requests = { addinBytes: 8192, tranches: new Map([["locks", 2]]) };
  const size = segmentSize(requests);
  initializeSegment(shm.create(SEGMENT, size), requests);
  const lockFree = () => {
    const [other] = new ShmemIndex(shm.attach(SEGMENT, size)).tranche("locks"); // another process's view
    const free = other!.conditionalAcquire("exclusive");
    if (free) other!.release();
    return free;
  };
  return { shm, location: { name: SEGMENT, size }, lockFree };
}

function startWithShmem(
  port: FakeWorkerPort,
  sharedMemory: StartMessage["sharedMemory"],
  flags = BGWORKER_SHMEM_ACCESS,
): void {
  port.deliver(startMessage(testWorker({ bgw_flags: flags }), { sharedMemory }));
}

test("shmem: mapped before the library is imported, so its top level can take structs and tranches", async () => {
  const { shm, location } = cluster();
  const port = bootWorker();
  port.sharedMemoryMapper = shm;
  let atImport: { found: boolean; bytes: number; locks: number } | null = null;
  port.module(LIBRARY, () => {
    const struct = shmemInitStruct("counters", 64);
    atImport = { found: struct.found, bytes: struct.buffer.byteLength, locks: getNamedLWLockTranche("locks").length };
    return { main: () => {} };
  });
  startWithShmem(port, location);
  assert.equal(await port.exited, 0);
  assert.deepEqual(atImport, { found: false, bytes: 64, locks: 2 });
  assert.equal(shmemInitStruct("counters", 64).found, true, "asked again, found");
});

test("shmem: LWLocks held are released on procExit and on SIGTERM, as PostgreSQL's proc_exit does", async () => {
  for (const leave of ["procExit", "SIGTERM"] as const) {
    const { shm, location, lockFree } = cluster();
    const port = bootWorker();
    port.sharedMemoryMapper = shm;
    const imported = new Promise<void>((resolve) =>
      port.module(LIBRARY, () => (resolve(), { main: () => new Promise(() => {}) }))
    );
    startWithShmem(port, location);
    await imported;
    const [lock] = getNamedLWLockTranche("locks");
    lock!.acquire("exclusive");
    assert.equal(lockFree(), false, leave);
    if (leave === "procExit") {
      assert.throws(() => procExit(0), WorkerExit);
    } else {
      backgroundWorkerUnblockSignals();
      port.signal("SIGTERM");
      assert.equal(port.killedBy, "SIGTERM");
    }
    assert.equal(lockFree(), true, `${leave} released the lock`);
  }
});

test("shmem: a segment that cannot be mapped is FATAL before the library is imported", async () => {
  for (
    const [label, mapper, location] of [
      ["no mapper", null, { name: SEGMENT, size: 65536 }],
      ["no segment", new FakeSharedMemory(), { name: "/bgworker.1000.9", size: 65536 }],
    ] as const
  ) {
    const port = bootWorker();
    port.sharedMemoryMapper = mapper;
    port.module(LIBRARY, { main: () => {} });
    startWithShmem(port, location);
    assert.equal(await port.exited, 1, label);
    assert.match(
      port.sentLogs[0]!,
      /^FATAL: {2}could not attach to shared memory segment "\/bgworker\.1000\.\d": /,
      label,
    );
    assert.deepEqual(port.imported, [], label);
  }
});

test("shmem: without the flag a typed error names the worker and the field; with it but none to have, the reason", async () => {
  const port = bootWorker();
  assert.throws(() => shmemInitStruct("x", 8), /shmemInitStruct: this worker has not been started yet/);
  const errors: unknown[] = [];
  const tryBoth = () => {
    for (const call of [() => shmemInitStruct("x", 8), () => getNamedLWLockTranche("locks")]) {
      try {
        call();
      } catch (error) {
        errors.push(error);
      }
    }
    return { main: () => {} };
  };
  port.module(LIBRARY, tryBoth);
  startWithShmem(port, undefined, 0);
  await port.exited;
  assert.equal(errors.length, 2);
  for (const error of errors) {
    assert.ok(error instanceof BackgroundWorkerError);
    assert.match(
      error.message,
      /^background worker "tester": (shmemInitStruct|getNamedLWLockTranche): cannot use shared memory without BGWORKER_SHMEM_ACCESS$/,
    );
    assert.deepEqual([error.field, error.code], ["bgw_flags", "object_not_in_prerequisite_state"]);
  }

  const flagged = bootWorker();
  errors.length = 0;
  flagged.module(LIBRARY, tryBoth);
  startWithShmem(flagged, { unavailable: "shared memory is not available on win32" });
  await flagged.exited;
  assert.deepEqual(errors.map((e) => (e as Error).message), [
    "shmemInitStruct: shared memory is not available on win32",
    "getNamedLWLockTranche: shared memory is not available on win32",
  ]);

  resetWorkerStateForTests();
  assert.throws(() => getNamedLWLockTranche("locks"), /getNamedLWLockTranche: not inside a background worker process/);
});
