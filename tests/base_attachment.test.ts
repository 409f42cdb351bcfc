import assert from "node:assert/strict";
import { test } from "node:test";
import { SegmentAttachment, type SegmentLocation, type ShmemStruct } from "../src/shmem/attachment.ts";
import type { SharedMemoryMapper } from "../src/shmem/mapper.ts";
import { initializeSegment, segmentSize, type ShmemRequests } from "../src/shmem/segment.ts";

/**
 * A mapper over one ArrayBuffer that records every attach. Mapping from an
 * offset copies here (plain JavaScript cannot alias part of a buffer); the
 * whole segment is the same buffer for every attachment, as two processes'
 * mappings of it are the same memory.
 */
function segment(requests: ShmemRequests) {
  const whole = new ArrayBuffer(segmentSize(requests));
  initializeSegment(whole, requests);
  const location: SegmentLocation = { name: "/bgworker.4242.1", size: whole.byteLength };
  const attaches: { name: string; size: number; offset: number }[] = [];
  const mapper: SharedMemoryMapper = {
    create: () => assert.fail("an attachment never creates a segment"),
    attach(name, size, offset = 0) {
      attaches.push({ name, size, offset });
      assert.equal(name, location.name);
      return offset === 0 && size === whole.byteLength ? whole : whole.slice(offset, offset + size);
    },
    unlink: () => assert.fail("an attachment never unlinks"),
    list: () => [location.name],
  };
  return { whole, location, mapper, attaches };
}

const requests = (): ShmemRequests => ({ addinBytes: 3 * 4096, tranches: new Map([["counters", 2]]) });

test("SegmentAttachment: the creator passes the mapped segment; a worker's attachment maps it whole, once", () => {
  const { whole, location, mapper, attaches } = segment(requests());
  const creator = new SegmentAttachment(mapper, location, whole);
  assert.equal(creator.location, location);
  assert.deepEqual(attaches, []);
  new SegmentAttachment(mapper, location);
  assert.deepEqual(attaches, [{ name: location.name, size: location.size, offset: 0 }]);
});

test("SegmentAttachment: initStruct maps a struct of exactly its size on its own pages; found is false for the first asker only", () => {
  const { whole, location, mapper, attaches } = segment(requests());
  const postmaster = new SegmentAttachment(mapper, location, whole);
  const first: ShmemStruct = postmaster.initStruct("stats", 100);
  assert.equal(first.found, false);
  assert.equal(first.buffer.byteLength, 100);
  assert.equal(attaches.length, 1);
  assert.equal(attaches[0]!.size, 100);
  assert.equal(attaches[0]!.offset % 4096, 0);
  const worker = new SegmentAttachment(mapper, location);
  const again = worker.initStruct("stats", 100);
  assert.equal(again.found, true);
  assert.equal(attaches.at(-1)!.offset, attaches[0]!.offset, "the same struct in every process");
  const other = worker.initStruct("other", 10);
  assert.equal(other.found, false);
  assert.notEqual(attaches.at(-1)!.offset, attaches[0]!.offset);
});

test("SegmentAttachment: asking twice gives the same buffer without mapping again, as a pointer would", () => {
  const { whole, location, mapper, attaches } = segment(requests());
  const shmem = new SegmentAttachment(mapper, location, whole);
  const a = shmem.initStruct("state", 64);
  const b = shmem.initStruct("state", 64);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.found, true);
  assert.equal(attaches.length, 1);
});

test("SegmentAttachment: PostgreSQL's errors for a struct asked with another size and for running out of space", () => {
  const { whole, location, mapper } = segment(requests());
  const shmem = new SegmentAttachment(mapper, location, whole);
  shmem.initStruct("sized", 100);
  assert.throws(
    () => shmem.initStruct("sized", 200),
    /ShmemIndex entry size is wrong for data structure "sized": expected 200, actual 100/,
  );
  assert.throws(() => shmem.initStruct("huge", location.size), /out of shared memory/);
});

test("SegmentAttachment: tranche gives the locks requested under a name, the same objects each time, shared across attachments", () => {
  const { whole, location, mapper } = segment(requests());
  const postmaster = new SegmentAttachment(mapper, location, whole);
  const worker = new SegmentAttachment(mapper, location);
  const locks = worker.tranche("counters");
  assert.equal(locks.length, 2);
  assert.equal(worker.tranche("counters"), locks);
  assert.throws(() => worker.tranche("unknown"), /requested tranche is not registered: "unknown"/);
  // One lock word, two processes' views of it.
  const theirs = postmaster.tranche("counters");
  locks[0]!.acquire("exclusive");
  try {
    assert.equal(theirs[0]!.conditionalAcquire("shared"), false);
    assert.equal(theirs[1]!.conditionalAcquire("exclusive"), true, "the second lock is a word of its own");
    theirs[1]!.release();
  } finally {
    locks[0]!.release();
  }
  assert.equal(theirs[0]!.conditionalAcquire("exclusive"), true);
  theirs[0]!.release();
});

test("SegmentAttachment: a segment without a bgworker header is refused", () => {
  const { location, mapper } = segment(requests());
  const blank = new ArrayBuffer(location.size);
  assert.throws(() => new SegmentAttachment(mapper, location, blank), /not initialized/);
});
