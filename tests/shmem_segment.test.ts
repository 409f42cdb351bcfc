import assert from "node:assert/strict";
import { test } from "node:test";
import { LW_VAL_EXCLUSIVE } from "../src/shmem/lwlock.ts";
import { initializeSegment, segmentSize, ShmemIndex, type ShmemRequests } from "../src/shmem/segment.ts";

const requests = (addinBytes: number, tranches: [string, number][] = []): ShmemRequests => ({
  addinBytes,
  tranches: new Map(tranches),
});

function segment(r: ShmemRequests): ArrayBuffer {
  const buffer = new ArrayBuffer(segmentSize(r));
  initializeSegment(buffer, r);
  return buffer;
}

test("shmem index: the first initStruct allocates (found false), every later one finds the same page-aligned bytes", () => {
  const buffer = segment(requests(8192));
  const first = new ShmemIndex(buffer).initStruct("counters", 64);
  assert.equal(first.found, false);
  assert.equal(first.offset % 4096, 0);
  const again = new ShmemIndex(buffer).initStruct("counters", 64);
  assert.deepEqual(again, { offset: first.offset, found: true });
  const other = new ShmemIndex(buffer).initStruct("other", 10);
  assert.notEqual(other.offset, first.offset);
});

test("shmem index: PostgreSQL's errors for a wrong size, a name too long, running out, and an unknown tranche", () => {
  const buffer = segment(requests(0));
  const index = new ShmemIndex(buffer);
  index.initStruct("sized", 100);
  assert.throws(
    () => index.initStruct("sized", 200),
    /ShmemIndex entry size is wrong for data structure "sized": expected 200, actual 100/,
  );
  assert.throws(() => index.initStruct("x".repeat(64), 8), /must be 1 to 63 UTF-8 bytes/);
  assert.throws(
    () => index.initStruct("huge", 1 << 24),
    /out of shared memory: not enough shared memory for data structure "huge" \(16777216 bytes requested\)/,
  );
  assert.throws(() => index.tranche("nope"), /requested tranche is not registered: "nope"/);
  assert.throws(() => new ShmemIndex(new ArrayBuffer(8192)), /not initialized/);
});

test("LWLocks of a named tranche: exclusive excludes everyone, shared admits shared; the word shows the holders", () => {
  const buffer = segment(requests(0, [["my locks", 2]]));
  const mine = new ShmemIndex(buffer).tranche("my locks");
  const theirs = new ShmemIndex(buffer).tranche("my locks"); // another process's view of the same words
  assert.equal(mine.length, 2);
  mine[0]!.acquire("exclusive");
  assert.equal(theirs[0]!.conditionalAcquire("shared"), false);
  assert.equal(theirs[0]!.conditionalAcquire("exclusive"), false);
  assert.equal(theirs[1]!.conditionalAcquire("exclusive"), true, "locks of a tranche are independent");
  mine[0]!.release();
  assert.equal(theirs[0]!.conditionalAcquire("shared"), true);
  assert.equal(mine[0]!.conditionalAcquire("shared"), true);
  assert.equal(
    new ShmemIndex(buffer).tranche("my locks")[0]!.conditionalAcquire("exclusive"),
    false,
    "not while shared holders remain",
  );
  theirs[1]!.release();
  const words = new Int32Array(buffer);
  assert.ok(!words.includes(LW_VAL_EXCLUSIVE), "no word left exclusive after release");
  mine[0]!.release();
  theirs[0]!.release();
  const check = new ShmemIndex(buffer).tranche("my locks");
  assert.ok(check.every((lock) => lock.conditionalAcquire("exclusive")), "both locks are free again");
  for (const lock of check) lock.release();
  assert.throws(() => theirs[0]!.release(), /not held by this process/);
});
