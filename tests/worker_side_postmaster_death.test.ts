// The postmaster's death as a worker sees it (src/worker/channel.ts,
// src/worker/identity.ts, src/worker/elog.ts): the channel's end, the
// parent check, and where log lines go.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WL_POSTMASTER_DEATH } from "../src/constants.ts";
import { ORPHAN_GRACE_MS } from "../src/worker/bootstrap.ts";
import { elog } from "../src/worker/elog.ts";
import { myLatch, postmasterIsAlive } from "../src/worker/identity.ts";
import { resetWorkerStateForTests } from "../src/worker/state.ts";
import { waitLatch } from "../src/worker/wait_latch.ts";
import { bootWorker, flush, startMessage } from "./helpers/fake_worker_port.ts";

test("postmaster death: nobody listens for it, so the worker exits 1 at once", () => {
  const port = bootWorker();
  port.disconnect();
  assert.equal(port.exitCode, 1);
});

test("postmaster death: those who listen are woken, and the worker exits 1 after the grace period whatever they do", async () => {
  const port = bootWorker();
  const first = waitLatch(myLatch, WL_POSTMASTER_DEATH, -1);
  const second = waitLatch(myLatch, WL_POSTMASTER_DEATH, -1);
  port.disconnect();
  assert.deepEqual(await Promise.all([first, second]), [WL_POSTMASTER_DEATH, WL_POSTMASTER_DEATH]);
  port.advance(ORPHAN_GRACE_MS - 1);
  assert.equal(port.ended, false);
  port.advance(1);
  assert.equal(port.exitCode, 1);
  assert.equal(ORPHAN_GRACE_MS, 500);
});

test("postmasterIsAlive: the channel is open and the postmaster is still the parent", async () => {
  const port = bootWorker({ pid: 31, parentPid: 1000 });
  port.module("file:///tester.ts", { main: () => new Promise(() => {}) });
  port.deliver(startMessage());
  await port.nextSent((m) => m.type === "started");
  assert.equal(postmasterIsAlive(), true);
  port.parent = 1; // re-parented: the postmaster died and its end-of-file has not arrived yet
  assert.equal(postmasterIsAlive(), false);
  port.parent = 1000;
  void waitLatch(myLatch, WL_POSTMASTER_DEATH, -1); // someone listens, so the worker lives on for a moment
  port.disconnect();
  assert.equal(postmasterIsAlive(), false);
  resetWorkerStateForTests();
  assert.throws(() => postmasterIsAlive(), /postmasterIsAlive: not inside a background worker process/);
});

test("elog: a line goes to the postmaster while it lives, to stderr once it is gone; an unknown level is refused", async () => {
  const port = bootWorker();
  await elog("LOG", "counted 42 rows");
  assert.deepEqual(port.sentLogs, ["LOG:  counted 42 rows"]);
  void waitLatch(myLatch, WL_POSTMASTER_DEATH, -1);
  port.disconnect();
  await elog("WARNING", "orphaned");
  assert.deepEqual(port.logs, ["WARNING:  orphaned"]);
  assert.equal(port.sentLogs.length, 1);
  assert.throws(
    () => elog("PANIC" as "LOG", "x"),
    (e: unknown) => e instanceof TypeError && /elog: unknown level "PANIC"/.test(e.message),
  );
  resetWorkerStateForTests();
  await elog("LOG", "outside a worker nobody hears it");
  await flush();
  assert.equal(port.logs.length, 1);
});
