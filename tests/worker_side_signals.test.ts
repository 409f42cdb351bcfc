// Signals in a worker (src/worker/signals.ts) on a fake port: held until
// backgroundWorkerUnblockSignals(), PostgreSQL's defaults, pqsignal.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SignalName } from "../src/signal_names.ts";
import { runBackgroundWorker } from "../src/worker/bootstrap.ts";
import { myLatch } from "../src/worker/identity.ts";
import {
  backgroundWorkerBlockSignals,
  backgroundWorkerUnblockSignals,
  HANDLED_SIGNALS,
  pqsignal,
  type SignalHandler,
} from "../src/worker/signals.ts";
import { resetWorkerStateForTests } from "../src/worker/state.ts";
import { bootWorker, FakeWorkerPort, startMessage, testWorker } from "./helpers/fake_worker_port.ts";

test("signals: held until backgroundWorkerUnblockSignals, then delivered once each; blocking holds them again", () => {
  const port = bootWorker();
  const got: string[] = [];
  pqsignal("SIGHUP", () => got.push("SIGHUP"));
  pqsignal("SIGUSR2", () => got.push("SIGUSR2"));
  port.signal("SIGHUP");
  port.signal("SIGHUP");
  port.signal("SIGUSR2");
  assert.deepEqual(got, [], "held while blocked");
  backgroundWorkerUnblockSignals();
  assert.deepEqual(got, ["SIGHUP", "SIGUSR2"], "a held signal is delivered once, as a pending signal is");
  port.signal("SIGHUP");
  assert.deepEqual(got, ["SIGHUP", "SIGUSR2", "SIGHUP"]);
  backgroundWorkerBlockSignals();
  port.signal("SIGUSR2");
  assert.equal(got.length, 3);
  backgroundWorkerUnblockSignals();
  assert.equal(got.length, 4);
});

test("signals: SIGQUIT exits 2 at once, even while signals are held", () => {
  const port = bootWorker();
  port.signal("SIGQUIT");
  assert.equal(port.exitCode, 2);
});

test("signals: a SIGQUIT handler of the worker's own is held like the others", () => {
  const port = bootWorker();
  let quits = 0;
  pqsignal("SIGQUIT", () => quits++);
  port.signal("SIGQUIT");
  assert.equal(quits, 0);
  backgroundWorkerUnblockSignals();
  assert.equal(quits, 1);
  assert.equal(port.ended, false);
});

test('signals: SIGUSR1 sets the latch by default; SIGHUP and SIGINT are ignored by default; "ignore" ignores', () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  port.signal("SIGHUP");
  port.signal("SIGINT");
  port.signal("SIGUSR2");
  assert.equal(port.ended, false);
  assert.equal(myLatch.isSet, false);
  port.signal("SIGUSR1");
  assert.equal(myLatch.isSet, true);
  myLatch.isSet = false;
  pqsignal("SIGUSR1", "ignore");
  port.signal("SIGUSR1");
  assert.equal(myLatch.isSet, false);
});

test("signals: once unblocked, SIGTERM with its default handler is the kernel's: the process dies of it, no JavaScript runs", () => {
  const port = bootWorker();
  assert.equal(port.listening("SIGTERM"), true, "held signals need the listener");
  backgroundWorkerUnblockSignals();
  assert.equal(
    port.listening("SIGTERM"),
    true,
    "kept until the event loop has polled: a SIGTERM caught by then is handed over",
  );
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), false, "then removed");
  port.signal("SIGTERM");
  assert.equal(port.killedBy, "SIGTERM");
  assert.deepEqual(port.raised, [], "nothing raised: the kernel's default action took it");
  assert.deepEqual(port.sentLogs, [], "no line: the postmaster writes PostgreSQL's FATAL line for a death by SIGTERM");
});

test("signals: a SIGTERM held while blocked stays pending; at unblock its default gives it back to the system and raises it", () => {
  const port = bootWorker();
  port.signal("SIGTERM");
  assert.equal(port.ended, false, "held");
  backgroundWorkerUnblockSignals();
  assert.deepEqual(port.raised, ["SIGTERM"]);
  assert.equal(port.killedBy, "SIGTERM", "the handler was removed first, so the raise is the system's SIGTERM");
  assert.equal(port.exitCode, null);
});

test("signals: blocking again brings the listener back before it returns, so a SIGTERM then is held, not fatal", () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  backgroundWorkerBlockSignals();
  assert.equal(port.listening("SIGTERM"), true);
  port.signal("SIGTERM");
  assert.equal(port.ended, false, "held while blocked");
  backgroundWorkerUnblockSignals();
  assert.equal(port.killedBy, "SIGTERM", "delivered at unblock: the default handler ends the process");
});

test("signals: pqsignal of a SIGTERM handler after unblock catches SIGTERM again before it returns; a handled one keeps the listener for good", () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  let terms = 0;
  pqsignal("SIGTERM", () => terms++);
  assert.equal(port.listening("SIGTERM"), true);
  port.signal("SIGTERM");
  assert.deepEqual([terms, port.ended], [1, false], "the worker's handler ran, the process lives");
  pqsignal("SIGTERM", "ignore");
  port.signal("SIGTERM");
  assert.deepEqual([terms, port.ended], [1, false], "ignored");
  pqsignal("SIGTERM", "default");
  assert.equal(port.listening("SIGTERM"), true, "a SIGTERM reached the handlers: no more kernel's action");
  port.signal("SIGTERM");
  assert.deepEqual(port.raised, ["SIGTERM"], "the default handler's way: raise again");
  assert.equal(port.killedBy, "SIGTERM");
});

test('signals: back to "default" with no SIGTERM seen, the kernel takes SIGTERM again', () => {
  const port = bootWorker();
  backgroundWorkerUnblockSignals();
  assert.equal(pqsignal("SIGTERM", () => {}), "default");
  assert.equal(port.listening("SIGTERM"), true);
  pqsignal("SIGTERM", "default");
  port.advance(0);
  assert.equal(port.listening("SIGTERM"), false);
  port.signal("SIGQUIT");
  assert.equal(port.exitCode, 2, "SIGQUIT unchanged: exit 2 at once");
});

test("signals: where the runtime keeps its handler, SIGTERM ends the classic way on the next turn: FATAL line, exit 1", async () => {
  class StubbornPort extends FakeWorkerPort {
    override raise(signal: SignalName): void {
      this.raised.push(signal); // the runtime swallows it
    }
  }
  resetWorkerStateForTests();
  const port = new StubbornPort();
  port.restoresDefaultAction = false; // such a runtime keeps SIGTERM on the listener (sigterm_route.ts)
  runBackgroundWorker(port);
  port.module("file:///tester.ts", { main: () => new Promise(() => {}) });
  port.deliver(startMessage(testWorker({ bgw_type: "my type" })));
  await port.nextSent((m) => m.type === "started");
  backgroundWorkerUnblockSignals();
  port.signal("SIGTERM");
  assert.equal(port.ended, false);
  port.advance(0);
  assert.equal(port.exitCode, 1);
  assert.deepEqual(port.sentLogs, ['FATAL:  terminating background worker "my type" due to administrator command']);
});

test("pqsignal: returns the previous handler; refuses signals a worker cannot handle and handlers that are not one", () => {
  bootWorker();
  const mine: SignalHandler = () => {};
  assert.equal(pqsignal("SIGHUP", mine), "default");
  assert.equal(pqsignal("SIGHUP", "ignore"), mine);
  assert.equal(pqsignal("SIGHUP", "default"), "ignore");
  assert.throws(
    () => pqsignal("SIGKILL" as SignalName, "ignore"),
    (e: unknown) =>
      e instanceof RangeError && /pqsignal: SIGKILL cannot be handled; use one of SIGTERM, SIGHUP/.test(e.message),
  );
  assert.throws(
    () => pqsignal("SIGHUP", "nothing" as SignalHandler),
    (e: unknown) =>
      e instanceof TypeError && /the handler for SIGHUP must be a function, "default" or "ignore"/.test(e.message),
  );
  assert.deepEqual([...HANDLED_SIGNALS].sort(), ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2"]);
});
