// Custom wait events inside a worker (src/worker/wait_events.ts, the fourth
// argument of src/worker/wait_latch.ts, the slot claim in
// src/worker/bootstrap.ts) and their table in shared memory
// (src/shmem/wait_event_table.ts, src/shmem/segment.ts), on a fake port and
// an in-memory mapper: ids, names, checks, and the word a wait publishes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS, WL_LATCH_SET, WL_TIMEOUT } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import { initializeSegment, segmentSize, ShmemIndex, type ShmemRequests } from "../src/shmem/segment.ts";
import {
  MAX_CUSTOM_WAIT_EVENTS,
  PG_WAIT_EXTENSION,
  waitEventAreaSize,
  WaitEventTable,
} from "../src/shmem/wait_event_table.ts";
import { myLatch } from "../src/worker/identity.ts";
import { setLatch } from "../src/worker/latch.ts";
import { workerState } from "../src/worker/state.ts";
import { waitEventExtensionNew } from "../src/worker/wait_events.ts";
import { waitLatch } from "../src/worker/wait_latch.ts";
import { FakeSharedMemory } from "./helpers/fake_shared_memory.ts";
import { bootWorker, type FakeWorkerPort, flush, startMessage, testWorker } from "./helpers/fake_worker_port.ts";

const LIBRARY = "file:///tester.ts";
const SEGMENT = "/bgworker.1000.1";
const SLOT = 3;

/** A cluster's segment laid out as the postmaster does, with room for 8 slots' wait events; `table()` is another process's view. */
function cluster(): { shm: FakeSharedMemory; location: { name: string; size: number }; table(): WaitEventTable } {
  const shm = new FakeSharedMemory();
  const requests: ShmemRequests = { addinBytes: 4096, tranches: new Map(), waitEventSlots: 8 };
  const size = segmentSize(requests);
  initializeSegment(shm.create(SEGMENT, size), requests);
  return {
    shm,
    location: { name: SEGMENT, size },
    table: () => new ShmemIndex(shm.attach(SEGMENT, size)).waitEvents()!,
  };
}

/** Start a worker whose main runs `main`, and wait until main is running. */
async function startWorker(
  port: FakeWorkerPort,
  options: { flags: number; location?: { name: string; size: number } },
  main: () => Promise<void> = () => new Promise(() => {}),
): Promise<void> {
  const running = new Promise<void>((resolve) => port.module(LIBRARY, { main: () => (resolve(), main()) }));
  port.deliver(
    startMessage(testWorker({ bgw_flags: options.flags }), {
      slot: SLOT,
      ...(options.location ? { sharedMemory: options.location } : {}),
    }),
  );
  await running;
}

function isFieldError(field: string, message: RegExp) {
  return (error: unknown) =>
    error instanceof BackgroundWorkerError && error.field === field &&
    message.test(error.message);
}

test("wait events: a name gets a number of the extension class, the same every time it is asked for", () => {
  bootWorker();
  const first = waitEventExtensionNew("QueueIdle");
  assert.equal(first, PG_WAIT_EXTENSION | 1, "PostgreSQL's custom ids start at 1");
  assert.equal((first & 0xff000000) >>> 0, 0x07000000);
  assert.equal(waitEventExtensionNew("QueueIdle"), first);
  assert.equal(waitEventExtensionNew("DiskFlush"), PG_WAIT_EXTENSION | 2);
  assert.equal(waitEventExtensionNew("é".repeat(31) + "x"), PG_WAIT_EXTENSION | 3, "63 UTF-8 bytes fit");
});

test("wait events: a bad name is a typed error naming the field, with PostgreSQL's message for a long one", () => {
  bootWorker();
  for (const bad of ["", 42, null, undefined] as unknown[]) {
    assert.throws(
      () => waitEventExtensionNew(bad as string),
      isFieldError("name", /wait event name must be a non-empty string/),
      String(bad),
    );
  }
  for (const long of ["x".repeat(64), "é".repeat(32)]) {
    assert.throws(
      () => waitEventExtensionNew(long),
      isFieldError("name", /cannot use custom wait event string longer than 63 characters/),
    );
  }
  assert.throws(() => waitEventExtensionNew("a\ud800"), isFieldError("name", /well-formed Unicode/));
  assert.equal(workerState().waitEventIds.size, 0, "nothing refused was numbered");
});

test('wait events: PostgreSQL\'s limit of 127 names, then "too many custom wait events"', () => {
  bootWorker();
  for (let i = 1; i <= MAX_CUSTOM_WAIT_EVENTS; i++) {
    assert.equal(waitEventExtensionNew(`event ${i}`), PG_WAIT_EXTENSION | i);
  }
  assert.throws(
    () => waitEventExtensionNew("one more"),
    (e: unknown) =>
      e instanceof BackgroundWorkerError && e.code === "configuration_limit_exceeded" && e.field === "name" &&
      /too many custom wait events/.test(e.message),
  );
  assert.equal(waitEventExtensionNew("event 5"), PG_WAIT_EXTENSION | 5, "known names still answer");
});

test("wait events: waitLatch takes PG_WAIT_EXTENSION or a number of waitEventExtensionNew, and names the argument otherwise", async () => {
  bootWorker();
  setLatch(myLatch);
  assert.equal(await waitLatch(myLatch, WL_LATCH_SET, -1, PG_WAIT_EXTENSION), WL_LATCH_SET);
  assert.equal(await waitLatch(myLatch, WL_LATCH_SET, -1, waitEventExtensionNew("Fine")), WL_LATCH_SET);
  for (const bad of [0, 1, 0x05000001, PG_WAIT_EXTENSION | 0x10000, PG_WAIT_EXTENSION + 0.5, -1, 2 ** 32, NaN]) {
    assert.throws(
      () => waitLatch(myLatch, WL_LATCH_SET, -1, bad),
      isFieldError("waitEventInfo", /waitEventInfo must be PG_WAIT_EXTENSION or a number from waitEventExtensionNew/),
      String(bad),
    );
  }
});

test("wait events: with shared memory the numbers are the cluster's, so every worker has the same one for a name", async () => {
  const { shm, location, table } = cluster();
  // Another worker defined two names before this one started.
  assert.equal(table().idOf("FromElsewhere"), 1);
  assert.equal(table().idOf("Shared"), 2);
  const port = bootWorker({ pid: 5151 });
  port.sharedMemoryMapper = shm;
  await startWorker(port, { flags: BGWORKER_SHMEM_ACCESS, location });
  assert.equal(waitEventExtensionNew("Shared"), PG_WAIT_EXTENSION | 2);
  assert.equal(waitEventExtensionNew("Mine"), PG_WAIT_EXTENSION | 3);
  assert.equal(table().idOf("Mine"), 3, "and the next worker gets this one's number");
  assert.equal(table().nameOf(3), "Mine");
});

test("wait events: a sleeping waitLatch publishes its event in the slot's word, signed with the pid, and clears it when it wakes", async () => {
  const { shm, location, table } = cluster();
  const view = table();
  view.claimSlot(SLOT, 7777);
  view.publish(SLOT, PG_WAIT_EXTENSION); // an earlier process of the slot died waiting
  const port = bootWorker({ pid: 5151 });
  port.sharedMemoryMapper = shm;
  await startWorker(port, { flags: BGWORKER_SHMEM_ACCESS, location });
  assert.equal(view.current(SLOT, 7777), 0, "the earlier process's word is not read as its own");
  assert.equal(view.current(SLOT, 5151), 0, "claimed, and not waiting");

  const info = waitEventExtensionNew("Napping");
  const waiting = waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT, 10_000, info);
  assert.equal(view.current(SLOT, 5151), info);
  assert.equal(view.describe(view.current(SLOT, 5151)), "Napping");
  setLatch(myLatch);
  assert.equal(await waiting, WL_LATCH_SET);
  assert.equal(view.current(SLOT, 5151), 0, "cleared when the wait ends");

  const byDefault = waitLatch(myLatch, WL_TIMEOUT, 50);
  assert.equal(view.describe(view.current(SLOT, 5151)), "Extension");
  port.advance(50);
  assert.equal(await byDefault, WL_TIMEOUT);
  assert.equal(view.current(SLOT, 5151), 0);

  setLatch(myLatch);
  await waitLatch(myLatch, WL_LATCH_SET, -1, info);
  assert.equal(view.current(SLOT, 5151), 0, "a wait that returns at once publishes nothing");
  assert.deepEqual(
    port.sent.map((message) => (message as { type: string }).type),
    ["ready", "started"],
    "no message for a name or a wait",
  );
});

test("wait events: overlapping waits show the newest still in progress", async () => {
  const { shm, location, table } = cluster();
  const view = table();
  const port = bootWorker({ pid: 5151 });
  port.sharedMemoryMapper = shm;
  await startWorker(port, { flags: BGWORKER_SHMEM_ACCESS, location });
  const outer = waitLatch(myLatch, WL_TIMEOUT, 100, waitEventExtensionNew("Outer"));
  const inner = waitLatch(myLatch, WL_TIMEOUT, 10, waitEventExtensionNew("Inner"));
  assert.equal(view.describe(view.current(SLOT, 5151)), "Inner");
  port.advance(10);
  await inner;
  assert.equal(view.describe(view.current(SLOT, 5151)), "Outer", "the inner one ended first");
  port.advance(90);
  await outer;
  assert.equal(view.current(SLOT, 5151), 0);
});

test("wait events: a worker without shared memory loads nothing for them and publishes nothing", async () => {
  const port = bootWorker({ pid: 5151 });
  let mapperAsked = 0;
  port.sharedMemory = () => (mapperAsked++, Promise.reject(new Error("not wanted")));
  await startWorker(port, { flags: 0 });
  const info = waitEventExtensionNew("Plain");
  assert.equal(info, PG_WAIT_EXTENSION | 1, "numbered by the process itself");
  const waiting = waitLatch(myLatch, WL_LATCH_SET, -1, info);
  await flush();
  setLatch(myLatch);
  assert.equal(await waiting, WL_LATCH_SET);
  assert.equal(mapperAsked, 0, "no foreign function interface was loaded");
  assert.equal(workerState().waitEventStorage, null);
  assert.deepEqual(workerState().waitsInProgress, [], "no bookkeeping either");
});

test("wait event table: a zeroed area is empty; names round-trip; a full table answers null; slots past the end read 0", () => {
  const table = new WaitEventTable(new ArrayBuffer(waitEventAreaSize(2) + 64), 64, 2);
  assert.equal(table.nameOf(1), null);
  assert.equal(table.idOf("😀 ünïcode"), 1);
  assert.equal(table.nameOf(1), "😀 ünïcode");
  for (let i = 2; i <= MAX_CUSTOM_WAIT_EVENTS; i++) assert.equal(table.idOf(`n${i}`), i);
  assert.equal(table.idOf("full"), null);
  assert.equal(table.idOf("n99"), 99);
  table.claimSlot(1, 42);
  table.publish(1, PG_WAIT_EXTENSION | 99);
  assert.equal(table.describe(table.current(1, 42)), "n99");
  assert.equal(table.current(2, 42), 0, "past the slots the area was sized for");
  assert.equal(table.describe(0), null);
  assert.equal(table.describe(0x05000001), "unknown wait event", "PostgreSQL's words for a class it does not know");
  assert.equal(table.describe(PG_WAIT_EXTENSION | 500), "unknown wait event");
});

test("segment: the wait event area sits between the tranches and the structs, and a segment without one says so", () => {
  const requests: ShmemRequests = { addinBytes: 4096, tranches: new Map([["locks", 3]]), waitEventSlots: 1000 };
  const buffer = new ArrayBuffer(segmentSize(requests));
  initializeSegment(buffer, requests);
  const index = new ShmemIndex(buffer);
  const table = index.waitEvents()!;
  assert.equal(table.slots, 1000);
  table.idOf("Here");
  const struct = index.initStruct("after", 4096);
  assert.ok(struct.offset >= waitEventAreaSize(1000), "structs start past the area");
  new Uint8Array(buffer, struct.offset, 4096).fill(0xff);
  assert.equal(index.waitEvents()!.nameOf(1), "Here", "structs never overlap the names");
  assert.equal(index.tranche("locks").length, 3);
  // A segment laid out by a bgworker without wait events has 0 in the header word.
  new Int32Array(buffer)[6] = 0;
  assert.equal(new ShmemIndex(buffer).waitEvents(), null);
});
