import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SharedMemoryError } from "../../src/shmem/mapper.ts";
import { initializeSegment, segmentSize, ShmemIndex } from "../../src/shmem/segment.ts";
import { commandsFor, thisRuntimeSharedMemory, uniqueSegmentName } from "../helpers/shm.ts";
import { spawnSameRuntime } from "../helpers/same_runtime.ts";

const COUNTER = fileURLToPath(new URL("../fixtures/shm_counter.ts", import.meta.url));
const LOCKED_COUNTER = fileURLToPath(new URL("../fixtures/shm_locked_counter.ts", import.meta.url));

/** Run a script with the same arguments in two processes of this runtime and one of each runtime; resolve with their exit codes. */
const PROCESSES = 5;

async function everyRuntime(script: string, args: string[]): Promise<unknown[]> {
  const children = [
    spawnSameRuntime(script, args),
    spawnSameRuntime(script, args),
    ...Object.values(commandsFor(script)).map(([command, commandArgs]) =>
      spawn(command, [...commandArgs, ...args], { stdio: ["ignore", "inherit", "inherit"] })
    ),
  ];
  assert.equal(children.length, PROCESSES);
  return await Promise.all(children.map((child) => new Promise((resolve) => child.on("close", resolve))));
}
const SIZE = 4096;

test("shared memory: two mappings of one segment in one process see the same bytes; errors name the segment", async () => {
  const mapper = await thisRuntimeSharedMemory();
  const name = uniqueSegmentName("same");
  const a = new Int32Array(mapper.create(name, SIZE));
  try {
    const b = new Int32Array(mapper.attach(name, SIZE));
    assert.equal(b[1], 0, "a new segment is zeroed");
    Atomics.store(a, 1, 1234);
    assert.equal(Atomics.load(b, 1), 1234);
    // A mapping from a page offset sees the bytes at that offset.
    const big = mapper.create(`${name}.big`, 3 * 4096);
    try {
      new Uint8Array(big)[4096 + 7] = 99;
      assert.equal(new Uint8Array(mapper.attach(`${name}.big`, 4096, 4096))[7], 99);
      assert.throws(() => mapper.attach(`${name}.big`, 16, 100), /offset must be a non-negative multiple of 4096/);
    } finally {
      mapper.unlink(`${name}.big`);
    }
    assert.throws(
      () => mapper.create(name, SIZE),
      (e: unknown) =>
        e instanceof SharedMemoryError && e.message.includes(`"${name}"`) && /already exists/.test(e.message),
    );
  } finally {
    mapper.unlink(name);
  }
  assert.throws(() => mapper.attach(name, SIZE), /no such segment/);
  mapper.unlink(name); // a missing name is no error
});

test("shared memory: processes of every runtime add to one counter with Atomics, and no update is lost", async () => {
  const mapper = await thisRuntimeSharedMemory();
  const name = uniqueSegmentName("mixed");
  const counter = new Int32Array(mapper.create(name, SIZE));
  const ITERATIONS = 200_000;
  try {
    const codes = await everyRuntime(COUNTER, [name, String(SIZE), String(ITERATIONS), String(PROCESSES)]);
    assert.deepEqual(codes, codes.map(() => 0));
    assert.equal(Atomics.load(counter, 0), ITERATIONS * codes.length);
  } finally {
    mapper.unlink(name);
  }
});

test("shared memory: an LWLock of a named tranche gives mutual exclusion across processes of every runtime", async () => {
  const mapper = await thisRuntimeSharedMemory();
  const name = uniqueSegmentName("locked");
  const requests = { addinBytes: 4096, tranches: new Map([["counter lock", 1]]) };
  const size = segmentSize(requests);
  const buffer = mapper.create(name, size);
  const ITERATIONS = 100_000;
  try {
    initializeSegment(buffer, requests);
    const { offset } = new ShmemIndex(buffer).initStruct("counter", 8);
    const codes = await everyRuntime(LOCKED_COUNTER, [name, String(size), String(ITERATIONS), String(PROCESSES)]);
    assert.deepEqual(codes, codes.map(() => 0));
    // Plain reads and writes under the lock: any overlap would have lost an update.
    assert.equal(new Int32Array(buffer, offset, 2)[0], ITERATIONS * codes.length);
  } finally {
    mapper.unlink(name);
  }
});
