import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundWorkerError } from "../src/errors.ts";
import { type BackgroundWorkerHandle, parseHandle, requireHandle, type WorkerStatus } from "../src/handle.ts";

test("parseHandle: a {slot, generation} pair of non-negative integers, copied into a fresh object without other fields", () => {
  const original = { slot: 3, generation: 7, extra: "dropped" };
  const parsed = parseHandle(original);
  assert.deepEqual(parsed, { slot: 3, generation: 7 });
  assert.notEqual(parsed, original);
  assert.deepEqual(parseHandle({ slot: 0, generation: 0 }), { slot: 0, generation: 0 });
  // A copy: changing the original afterwards does not change it.
  original.slot = 99;
  assert.equal(parsed!.slot, 3);
});

test("parseHandle: a handle that went through JSON (another process) is one again", () => {
  const handle: BackgroundWorkerHandle = { slot: 1, generation: 2 };
  assert.deepEqual(parseHandle(JSON.parse(JSON.stringify(handle))), handle);
});

test("parseHandle: null for negatives, fractions, non-finite and unsafe numbers, strings, missing fields and non-objects", () => {
  const bad: unknown[] = [
    { slot: -1, generation: 1 },
    { slot: 1, generation: -1 },
    { slot: 1.5, generation: 1 },
    { slot: 1, generation: 0.1 },
    { slot: Number.NaN, generation: 1 },
    { slot: Number.POSITIVE_INFINITY, generation: 1 },
    { slot: 2 ** 53, generation: 1 },
    { slot: "0", generation: 1 },
    { slot: 0, generation: 1n },
    { slot: 0 },
    { generation: 0 },
    {},
    [0, 1],
    null,
    undefined,
    42,
    "{slot:0,generation:1}",
  ];
  for (const value of bad) {
    assert.equal(
      parseHandle(value),
      null,
      `${JSON.stringify(value, (_, v) => typeof v === "bigint" ? `${v}n` : v)} is not a handle`,
    );
  }
});

test("parseHandle: reads each field once, so a getter cannot answer differently to the check and the copy", () => {
  let reads = 0;
  const tricky = {
    get slot() {
      reads++;
      return reads === 1 ? 1 : -1;
    },
    generation: 1,
  };
  assert.deepEqual(parseHandle(tricky), { slot: 1, generation: 1 });
  assert.equal(reads, 1);
});

test("requireHandle: the checked copy of a good handle", () => {
  const input = { slot: 2, generation: 5 };
  const handle = requireHandle(input);
  assert.deepEqual(handle, input);
  assert.notEqual(handle, input);
});

test('requireHandle: a BackgroundWorkerError on field "handle" with code invalid_handle for anything else', () => {
  for (const value of [null, { slot: -1, generation: 0 }, { slot: 0 }, "0:1"]) {
    assert.throws(() => requireHandle(value), (error: unknown) => {
      assert.ok(error instanceof BackgroundWorkerError);
      assert.equal(error.field, "handle");
      assert.equal(error.code, "invalid_handle");
      assert.equal(error.worker, "(unknown)");
      assert.match(error.message, /invalid handle/);
      assert.match(error.detail ?? "", /non-negative integer slot and generation/);
      return true;
    });
  }
});

test("WorkerStatus: the shape a handle answers with (a status and a pid or null)", () => {
  const running: WorkerStatus = { status: 0, pid: 1234 };
  const stopped: WorkerStatus = { status: 2, pid: null };
  assert.deepEqual(JSON.parse(JSON.stringify([running, stopped])), [running, stopped]);
});
