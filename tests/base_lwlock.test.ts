import assert from "node:assert/strict";
import { test } from "node:test";
import {
  holdsLWLocks,
  LW_VAL_EXCLUSIVE,
  LWLock,
  type LWLockMode,
  releaseAllLWLocks,
  watchLWLockHolding,
} from "../src/shmem/lwlock.ts";

/** Lock words; two LWLock objects on one word stand for two processes' views of one lock. */
const words = () => new Int32Array(new SharedArrayBuffer(16));

test("LWLock: exclusive sets the word to LW_VAL_EXCLUSIVE and excludes every other holder until released", () => {
  const w = words();
  const mine = new LWLock(w, 1);
  const theirs = new LWLock(w, 1);
  assert.equal(mine.conditionalAcquire("exclusive"), true);
  assert.equal(Atomics.load(w, 1), LW_VAL_EXCLUSIVE);
  assert.equal(mine.heldByMe, true);
  assert.equal(theirs.heldByMe, false);
  assert.equal(theirs.conditionalAcquire("exclusive"), false);
  assert.equal(theirs.conditionalAcquire("shared"), false);
  mine.release();
  assert.equal(Atomics.load(w, 1), 0);
  assert.equal(mine.heldByMe, false);
  assert.equal(theirs.conditionalAcquire("shared"), true);
  theirs.release();
  assert.deepEqual([...w], [0, 0, 0, 0], "only the lock's own word was touched");
});

test("LWLock: shared holders are counted in the word and keep an exclusive one out until the last leaves", () => {
  const w = words();
  const [a, b, c] = [new LWLock(w, 0), new LWLock(w, 0), new LWLock(w, 0)];
  assert.equal(a.conditionalAcquire("shared"), true);
  assert.equal(b.conditionalAcquire("shared"), true);
  assert.equal(Atomics.load(w, 0), 2);
  assert.equal(c.conditionalAcquire("exclusive"), false);
  a.release();
  assert.equal(c.conditionalAcquire("exclusive"), false);
  b.release();
  assert.equal(Atomics.load(w, 0), 0);
  assert.equal(c.conditionalAcquire("exclusive"), true);
  c.release();
});

test("LWLock: acquire on a free lock returns at once in either mode", () => {
  const lock = new LWLock(words(), 2);
  for (const mode of ["shared", "exclusive"] as LWLockMode[]) {
    lock.acquire(mode);
    assert.equal(lock.heldByMe, true);
    lock.release();
  }
});

test("LWLock: misuse is an error: a second acquire by the holder, a release without holding, an unknown mode", () => {
  const lock = new LWLock(words(), 0);
  assert.throws(() => lock.release(), /lightweight lock is not held by this process/);
  lock.acquire("shared");
  assert.throws(() => lock.conditionalAcquire("shared"), /already held by this process in shared mode/);
  assert.throws(() => lock.acquire("exclusive"), /already held by this process in shared mode/);
  lock.release();
  assert.throws(() => lock.conditionalAcquire("both" as LWLockMode), TypeError);
  assert.equal(lock.heldByMe, false);
});

test("releaseAllLWLocks: gives back every lock this process holds, in any mode and whatever order they were released in so far", () => {
  const w = words();
  const locks = [new LWLock(w, 0), new LWLock(w, 1), new LWLock(w, 2), new LWLock(w, 3)];
  locks[0]!.acquire("exclusive");
  locks[1]!.acquire("shared");
  locks[2]!.acquire("exclusive");
  locks[3]!.acquire("shared");
  locks[1]!.release(); // out of order: not the last one taken
  releaseAllLWLocks();
  assert.deepEqual([...w], [0, 0, 0, 0]);
  assert.ok(locks.every((lock) => !lock.heldByMe));
  assert.doesNotThrow(() => releaseAllLWLocks(), "nothing left to release is fine");
  // The locks work again afterwards.
  assert.equal(locks[0]!.conditionalAcquire("exclusive"), true);
  locks[0]!.release();
});

test("LWLock: a watcher hears before the first lock is taken (the word still free) and when none is held again", () => {
  const w = words();
  const heard: string[] = [];
  let index = 0;
  watchLWLockHolding({
    beforeFirstLock: () => heard.push(`before (word ${Atomics.load(w, index)}, holds ${holdsLWLocks()})`),
    noLockHeld: () => heard.push(`none (holds ${holdsLWLocks()})`),
  });
  try {
    const [a, b] = [new LWLock(w, 0), new LWLock(w, 1)];
    a.acquire("exclusive");
    b.acquire("shared"); // a second lock: nothing to hear
    a.release();
    b.release();
    assert.deepEqual(heard, ["before (word 0, holds false)", "none (holds false)"]);
    heard.length = 0;
    index = 2;
    Atomics.store(w, index, LW_VAL_EXCLUSIVE); // held by another process
    assert.equal(new LWLock(w, index).conditionalAcquire("shared"), false);
    assert.deepEqual(
      heard,
      [`before (word ${LW_VAL_EXCLUSIVE}, holds false)`, "none (holds false)"],
      "a failed attempt",
    );
  } finally {
    watchLWLockHolding(null);
  }
});
