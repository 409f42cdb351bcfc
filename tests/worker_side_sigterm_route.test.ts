// The way SIGTERM reaches a worker (src/worker/sigterm_route.ts) on a fake port: the kernel's default action
// while nothing needs the handler's JavaScript, the listener while an LWLock is held, and a SIGTERM dropped as
// the listener went delivered after all when the postmaster announces it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LW_VAL_EXCLUSIVE, LWLock } from "../src/shmem/lwlock.ts";
import { backgroundWorkerBlockSignals, backgroundWorkerUnblockSignals, pqsignal } from "../src/worker/signals.ts";
import { KERNEL_SIGTERM_AFTER_LOCKS_MS } from "../src/worker/sigterm_route.ts";
import { bootWorker, type FakeWorkerPort, flush } from "./helpers/fake_worker_port.ts";

const RECOVERED = "DEBUG1:  a SIGTERM from the postmaster did not reach this worker's handlers; delivering it now";

/** The postmaster's announcement arrives, and the worker's event loop runs until it has acted on it. */
async function announce(port: FakeWorkerPort): Promise<void> {
  port.deliver({ type: "sigterm_sent" });
  port.advance(0);
  await flush();
  port.advance(0);
}

/** A lock over a word of its own; the word reads 0 when free. */
function lock(): { lock: LWLock; free(): boolean } {
  const words = new Int32Array(new SharedArrayBuffer(4));
  return { lock: new LWLock(words, 0), free: () => Atomics.load(words, 0) === 0 };
}

test("sigterm route: a SIGTERM caught while signals were held reaches the listener: the listener goes only after the next poll", () => {
  const port = bootWorker();
  port.catchSignal("SIGTERM"); // the runtime caught it while signals were held (say, right after main's first line)
  backgroundWorkerUnblockSignals();
  assert.equal(port.listening("SIGTERM"), true, "still there");
  port.poll();
  assert.deepEqual(port.raised, ["SIGTERM"], "handed over: the default handler's end, no announcement needed");
  assert.equal(port.killedBy, "SIGTERM");
  assert.deepEqual(port.sentLogs, []);
});

test("sigterm route: the listener's removal, after the next poll, is called off if signals are held again or a handler is set by then", () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  backgroundWorkerBlockSignals();
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), true, "held again: the listener stays");
  backgroundWorkerUnblockSignals();
  pqsignal("SIGTERM", () => {});
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), true, "a handler of its own: the listener stays");
  pqsignal("SIGTERM", "default");
  assert.equal(port.listening("SIGTERM"), true, "until the next poll");
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), false);
});

test("sigterm route: announced while the listener's removal waits for the next poll, the SIGTERM keeps the listener and reaches it", () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals(); // the removal waits for the next poll...
  port.catchSignal("SIGTERM"); // ...the runtime catches the SIGTERM...
  port.deliver({ type: "sigterm_sent" }); // ...and the announcement is read before the signal is handed over
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), true, "not removed: it would drop the SIGTERM on its way");
  port.poll();
  assert.deepEqual([port.raised, port.killedBy, port.sentLogs], [["SIGTERM"], "SIGTERM", []]);
});

test("sigterm route: a SIGTERM caught just before the listener went is dropped; the postmaster's announcement delivers it", async () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  port.catchSignal("SIGTERM"); // the runtime caught it after the last poll...
  port.advance(0); // ...and the listener is removed before the event loop handed it over
  assert.equal(port.listening("SIGTERM"), false);
  port.poll();
  assert.equal(port.ended, false, "dropped: this is the race");
  port.deliver({ type: "sigterm_sent" });
  // No timer first: with the listener away, nothing the runtime caught can still reach the handlers.
  await flush();
  assert.deepEqual(port.sentLogs, [RECOVERED], "said first, while the process can still say it");
  assert.deepEqual(port.raised, ["SIGTERM"]);
  assert.equal(port.killedBy, "SIGTERM", "the default handler's end: the postmaster counts exit 1 and writes FATAL");
});

test("sigterm route: an announcement changes nothing once a SIGTERM reached the handlers, or when none could be dropped", async () => {
  // The listener never went (a handler of the worker's from the start): the handler runs once.
  let port = bootWorker();
  let terms = 0;
  pqsignal("SIGTERM", () => terms++);
  backgroundWorkerUnblockSignals();
  port.signal("SIGTERM");
  await announce(port);
  assert.deepEqual([terms, port.ended, port.sentLogs], [1, false, []]);

  // The listener went, came back for a handler, which got the SIGTERM: not taken for a dropped one.
  port = bootWorker();
  terms = 0;
  backgroundWorkerUnblockSignals();
  port.advance(0); // the event loop polled: the listener goes
  pqsignal("SIGTERM", () => terms++);
  port.catchSignal("SIGTERM");
  port.deliver({ type: "sigterm_sent" });
  port.poll(); // the signal is handed over before the announcement is looked at
  port.advance(0);
  await flush();
  port.advance(0);
  assert.deepEqual([terms, port.ended, port.sentLogs], [1, false, []]);

  // Held: the announcement finds it pending, and it stays pending until unblocked.
  port = bootWorker();
  backgroundWorkerUnblockSignals();
  port.advance(0);
  backgroundWorkerBlockSignals();
  port.signal("SIGTERM");
  await announce(port);
  assert.deepEqual([port.ended, port.sentLogs], [false, []]);
  backgroundWorkerUnblockSignals();
  assert.equal(port.killedBy, "SIGTERM");
});

test("sigterm route: a SIGTERM dropped while blocked again is delivered held, so it waits for the unblock", async () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  port.advance(0);
  pqsignal("SIGTERM", () => {}); // listener back...
  port.catchSignal("SIGTERM");
  pqsignal("SIGTERM", "default"); // ...and gone again before the runtime handed the signal over
  port.advance(0);
  backgroundWorkerBlockSignals();
  port.poll();
  assert.equal(port.ended, false, "dropped");
  await announce(port);
  assert.equal(port.ended, false, "held: signals are blocked");
  backgroundWorkerUnblockSignals();
  assert.equal(port.killedBy, "SIGTERM");
});

test("sigterm route: a listener of the worker's own that swallows SIGTERM cannot stop the default handler's end", async () => {
  const port = bootWorker();
  let swallowed = 0;
  port.onSignal("SIGTERM", () => swallowed++); // say, the user's module called process.on("SIGTERM")
  backgroundWorkerUnblockSignals();
  port.advance(0);
  port.signal("SIGTERM");
  assert.deepEqual([swallowed, port.ended], [1, false], "the runtime kept its handler for the other listener");
  await announce(port);
  assert.deepEqual(port.raised, ["SIGTERM"], "raised, and swallowed again...");
  assert.equal(port.exitCode, 1, "...so the default handler ended it the classic way on the next turn");
  assert.deepEqual(port.sentLogs, [
    RECOVERED,
    'FATAL:  terminating background worker "unknown" due to administrator command',
  ]);
});

test("sigterm route: while an LWLock is held SIGTERM goes through the listener, whose default handler releases it", () => {
  const port = bootWorker();
  const { lock: held, free } = lock();
  backgroundWorkerUnblockSignals();
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), false);
  held.acquire("exclusive");
  assert.equal(port.listening("SIGTERM"), true, "back before the lock word changed");
  port.signal("SIGTERM");
  assert.equal(free(), true, "released on the way out, as PostgreSQL's die() does through proc_exit");
  assert.equal(port.killedBy, "SIGTERM");
});

test(`sigterm route: the kernel's action comes back ${KERNEL_SIGTERM_AFTER_LOCKS_MS} ms after the last LWLock is released, once per quiet spell`, () => {
  const port = bootWorker();
  const { lock: a } = lock();
  const { lock: b } = lock();
  a.acquire("shared"); // held when signals are let through: the listener stays
  backgroundWorkerUnblockSignals();
  assert.equal(port.listening("SIGTERM"), true);
  b.acquire("exclusive");
  a.release();
  assert.equal(port.pendingTimers, 0, "one still held");
  b.release();
  for (let i = 0; i < 1000; i++) {
    a.acquire("exclusive");
    a.release();
  }
  assert.equal(port.pendingTimers, 1, "a lock taken on every turn schedules one return, not one per release");
  port.advance(KERNEL_SIGTERM_AFTER_LOCKS_MS - 1);
  assert.equal(port.listening("SIGTERM"), true);
  port.advance(1);
  assert.equal(port.listening("SIGTERM"), false);

  // An attempt that does not take the lock leaves none held: the listener goes again after the same spell.
  const words = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(words, 0, LW_VAL_EXCLUSIVE); // held by another process
  assert.equal(new LWLock(words, 0).conditionalAcquire("shared"), false);
  assert.equal(port.listening("SIGTERM"), true, "back before the attempt");
  port.advance(KERNEL_SIGTERM_AFTER_LOCKS_MS);
  assert.equal(port.listening("SIGTERM"), false);
});

test("sigterm route: signals held or a handler of the worker's own: locks change nothing, no timer", () => {
  const port = bootWorker();
  const { lock: l } = lock();
  l.acquire("exclusive");
  l.release();
  assert.deepEqual([port.listening("SIGTERM"), port.pendingTimers], [true, 0], "blocked");
  backgroundWorkerUnblockSignals();
  port.advance(0);
  pqsignal("SIGTERM", () => {});
  l.acquire("exclusive");
  l.release();
  assert.deepEqual([port.listening("SIGTERM"), port.pendingTimers], [true, 0], "a handler of its own");
});
