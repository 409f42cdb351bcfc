// Latches (src/worker/latch.ts, src/worker/wait_latch.ts) on a fake port
// and a fake clock: set, reset, waits with a timeout, the postmaster's death.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WL_EXIT_ON_PM_DEATH, WL_LATCH_SET, WL_POSTMASTER_DEATH, WL_TIMEOUT } from "../src/constants.ts";
import { myLatch } from "../src/worker/identity.ts";
import { Latch, resetLatch, setLatch } from "../src/worker/latch.ts";
import { backgroundWorkerUnblockSignals } from "../src/worker/signals.ts";
import { workerState } from "../src/worker/state.ts";
import { waitLatch } from "../src/worker/wait_latch.ts";
import { bootWorker, flush, WorkerExit } from "./helpers/fake_worker_port.ts";

/** Whether a promise has settled, after the queued callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await flush();
  return done;
}

test("latch: setLatch raises it, resetLatch clears it; a wait on a set latch returns at once", async () => {
  bootWorker();
  const latch = new Latch();
  setLatch(latch);
  setLatch(latch);
  assert.equal(latch.isSet, true);
  assert.equal(await waitLatch(latch, WL_LATCH_SET | WL_TIMEOUT, 1000), WL_LATCH_SET);
  assert.equal(latch.isSet, true, "waiting does not reset it");
  resetLatch(latch);
  assert.equal(latch.isSet, false);
});

test("latch: a sleeper wakes when the latch is set, and its timer is cancelled", async () => {
  const port = bootWorker();
  const waiting = waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT, 10_000);
  assert.equal(await settled(waiting), false);
  assert.equal(port.pendingTimers, 1);
  setLatch(myLatch);
  assert.equal(await waiting, WL_LATCH_SET);
  assert.equal(port.pendingTimers, 0);
  assert.equal(myLatch.sleepers.size, 0);
});

test("latch: WL_TIMEOUT after exactly timeoutMs on the clock; a timeout of 0 or less returns at once", async () => {
  const port = bootWorker();
  const waiting = waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT, 100);
  port.advance(99);
  assert.equal(await settled(waiting), false);
  port.advance(1);
  assert.equal(await waiting, WL_TIMEOUT);
  assert.equal(myLatch.sleepers.size, 0, "the sleeper left the latch");
  assert.equal(await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT, 0), WL_TIMEOUT);
  assert.equal(port.pendingTimers, 0);
});

test("latch: SIGUSR1 wakes a wait on myLatch", async () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  const waiting = waitLatch(myLatch, WL_LATCH_SET, -1);
  port.signal("SIGUSR1");
  assert.equal(await waiting, WL_LATCH_SET);
});

test("latch: the postmaster's death answers WL_POSTMASTER_DEATH and leaves the worker its grace period", async () => {
  const port = bootWorker();
  const waiting = waitLatch(myLatch, WL_LATCH_SET | WL_POSTMASTER_DEATH, -1);
  port.disconnect();
  assert.equal(await waiting, WL_POSTMASTER_DEATH);
  assert.equal(port.ended, false, "a worker that listens for the death may clean up");
  assert.equal(
    await waitLatch(myLatch, WL_POSTMASTER_DEATH, -1),
    WL_POSTMASTER_DEATH,
    "and every later wait says so at once",
  );
  assert.equal(
    await waitLatch(myLatch, WL_LATCH_SET | WL_TIMEOUT, 0),
    WL_TIMEOUT,
    "a wait that does not ask is not told",
  );
});

test("latch: a wait with WL_EXIT_ON_PM_DEATH exits 1 when the postmaster dies, or at once if it is dead", async () => {
  const port = bootWorker();
  const waiting = waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1);
  port.disconnect();
  assert.equal(port.exitCode, 1);
  assert.equal(await settled(waiting), false, "the process ended in the wait");

  const late = bootWorker();
  workerState().postmasterDead = true;
  assert.throws(() => waitLatch(myLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, 1000), WorkerExit);
  assert.equal(late.exitCode, 1);
});
