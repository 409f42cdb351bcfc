// The postmaster's view of its workers' wait events (src/postmaster/
// shared_memory.ts waitEventOf, the waitEvent of registrations' summaries()
// and events' WorkerSummary), on the fake runtime and an in-memory mapper:
// the test writes the words a worker process would write.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import type { WorkerSummary } from "../src/postmaster/events.ts";
import { ClusterSegment } from "../src/postmaster/shared_memory.ts";
import { ShmemIndex } from "../src/shmem/segment.ts";
import { PG_WAIT_EXTENSION, type WaitEventTable } from "../src/shmem/wait_event_table.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";
import { FakeSharedMemory } from "./helpers/fake_shared_memory.ts";

const SHMEM = { bgw_flags: BGWORKER_SHMEM_ACCESS };

async function startedCluster(options: { sharedMemory?: boolean } = {}) {
  const made = fakePostmaster();
  const shm = new FakeSharedMemory();
  if (options.sharedMemory !== false) made.runtime.sharedMemory = () => Promise.resolve(shm);
  made.pm.registerBackgroundWorker(worker("mapper", SHMEM));
  made.pm.registerBackgroundWorker(worker("plain"));
  await made.pm.start();
  const segment = () => shm.segments.get(`/bgworker.${made.pm.pid}.1`)!;
  /** The cluster's table as a worker process maps it. */
  const table = (): WaitEventTable => new ShmemIndex(segment()).waitEvents()!;
  const summary = (name: string): WorkerSummary => made.pm.backgroundWorkers().find((w) => w.bgw_name === name)!;
  return { ...made, shm, table, summary };
}

test('postmaster wait events: a worker\'s published wait shows as its name, "Extension" by default, and null when it ends', async () => {
  const { runtime, table, summary } = await startedCluster();
  const mapper = runtime.last("mapper").reportStarted();
  const slot = summary("mapper").handle.slot;
  assert.equal(summary("mapper").waitEvent, null, "running, not waiting");

  // What the worker process does: claim its slot, define a name, and wait.
  const words = table();
  words.claimSlot(slot, mapper.pid);
  words.publish(slot, PG_WAIT_EXTENSION | words.idOf("ReplicationSlotIdle")!);
  assert.equal(summary("mapper").waitEvent, "ReplicationSlotIdle");
  words.publish(slot, PG_WAIT_EXTENSION);
  assert.equal(summary("mapper").waitEvent, "Extension");
  words.publish(slot, 0);
  assert.equal(summary("mapper").waitEvent, null);
});

test("postmaster wait events: a word left by an exited process, or signed by another pid, is not shown", async () => {
  const { runtime, table, summary } = await startedCluster();
  const first = runtime.last("mapper").reportStarted();
  const slot = summary("mapper").handle.slot;
  const words = table();
  words.claimSlot(slot, first.pid);
  words.publish(slot, PG_WAIT_EXTENSION);
  assert.equal(summary("mapper").waitEvent, "Extension");
  first.exit(1); // died in its wait (a SIGTERM in waitLatch leaves the word as it was)
  assert.equal(summary("mapper").waitEvent, null, "no process runs");
  runtime.advance(60_000);
  const second = runtime.last("mapper").reportStarted();
  assert.notEqual(second.pid, first.pid);
  assert.equal(summary("mapper").waitEvent, null, "the restarted process has not claimed the word yet");
  words.claimSlot(slot, second.pid);
  assert.equal(summary("mapper").waitEvent, null, "claimed: the earlier wait is cleared");
});

test("postmaster wait events: workers without the flag, and clusters without shared memory, show null", async () => {
  const withShm = await startedCluster();
  withShm.runtime.last("plain").reportStarted();
  assert.equal(withShm.summary("plain").waitEvent, null);
  const without = await startedCluster({ sharedMemory: false });
  without.runtime.last("mapper").reportStarted();
  assert.deepEqual(without.pm.backgroundWorkers().map((w) => w.waitEvent), [null, null]);
});

test("postmaster wait events: a segment has one word per slot the host says, every possible slot otherwise", async () => {
  const host = {
    pid: 4242,
    processExists: () => true,
    atExit: () => () => {},
    log: () => {},
  };
  const small = new FakeSharedMemory();
  const sized = new ClusterSegment({ ...host, loadMapper: () => Promise.resolve(small), maxWorkerProcesses: 2 });
  await sized.create();
  const table = new ShmemIndex(small.segments.get("/bgworker.4242.1")!).waitEvents()!;
  assert.equal(table.slots, 2);
  table.claimSlot(1, 99);
  table.publish(1, PG_WAIT_EXTENSION | table.idOf("Small")!);
  assert.deepEqual([sized.waitEventOf(1, 99), sized.waitEventOf(1, 98), sized.waitEventOf(2, 99)], [
    "Small",
    null,
    null,
  ]);
  sized.remove();
  assert.equal(sized.waitEventOf(1, 99), null, "no segment, no wait events");

  const big = new FakeSharedMemory();
  const unsized = new ClusterSegment({ ...host, loadMapper: () => Promise.resolve(big) });
  await unsized.create();
  assert.equal(new ShmemIndex(big.segments.get("/bgworker.4242.1")!).waitEvents()!.slots, 262_143);
  unsized.remove();
});
