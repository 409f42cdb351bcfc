import assert from "node:assert/strict";
import { test } from "node:test";
import type { ShutdownSignal } from "../src/adapter.ts";
import { Postmaster } from "../src/postmaster/postmaster.ts";
import type { PostmasterContext } from "../src/postmaster/context.ts";
import { ShutdownSignals } from "../src/postmaster/shutdown_signals.ts";
import { FakeRuntime, worker } from "./helpers/fake_runtime.ts";

/** A fake runtime that can deliver the process's shutdown signals and records how the process would end. */
class SignalRuntime extends FakeRuntime {
  handler: ((signal: ShutdownSignal) => void) | null = null;
  appListens = false;
  endedAs: ShutdownSignal[] = [];
  catchShutdownSignals(handler: (signal: ShutdownSignal) => void): () => void {
    this.handler = handler;
    return () => this.handler = null;
  }
  endAsSignal(signal: ShutdownSignal): void {
    if (!this.appListens) this.endedAs.push(signal);
  }
}

function setUp(options: { handleSignals?: boolean } = {}) {
  const runtime = new SignalRuntime();
  const pm = new Postmaster({
    adapter: runtime,
    logger: (level, message) => runtime.writeLog(`${level}:  ${message}`),
    ...options,
  });
  return { pm, runtime };
}

test("SIGINT: a fast stop; once stopped the signals are given back and the process ends by SIGINT", async () => {
  const { pm, runtime } = setUp();
  pm.registerBackgroundWorker(worker("w"));
  assert.equal(runtime.handler, null, "nothing is taken before start()");
  await pm.start();
  const w = runtime.last("w").reportStarted();
  runtime.handler!("SIGINT");
  assert.deepEqual(w.signals, ["SIGTERM"]);
  assert.ok(runtime.logs.includes("LOG:  received SIGINT"));
  assert.ok(runtime.logs.includes("LOG:  received fast shutdown request"));
  assert.deepEqual(runtime.endedAs, [], "not before the stop is complete");
  w.exit(null, "SIGTERM");
  await pm.stop();
  assert.equal(runtime.handler, null, "given back");
  assert.deepEqual(runtime.endedAs, ["SIGINT"]);
});

test("a second SIGTERM during a fast stop escalates to immediate; SIGQUIT is immediate at once", async () => {
  const { pm, runtime } = setUp();
  pm.registerBackgroundWorker(worker("a"));
  await pm.start();
  const a = runtime.last("a").reportStarted();
  runtime.handler!("SIGTERM");
  runtime.handler!("SIGTERM");
  assert.deepEqual(a.signals, ["SIGTERM", "SIGQUIT"]);
  a.exit(2);
  await pm.stop();
  assert.deepEqual(runtime.endedAs, ["SIGTERM"]);

  const other = setUp();
  other.pm.registerBackgroundWorker(worker("b"));
  await other.pm.start();
  const b = other.runtime.last("b").reportStarted();
  other.runtime.handler!("SIGQUIT");
  assert.deepEqual(b.signals, ["SIGQUIT"]);
});

test("an application that listens itself keeps control; handleSignals: false takes nothing; a stop without a signal ends nothing", async () => {
  const listening = setUp();
  listening.runtime.appListens = true;
  await listening.pm.start();
  listening.runtime.handler!("SIGINT");
  await listening.pm.stop();
  assert.deepEqual(listening.runtime.endedAs, []);

  const off = setUp({ handleSignals: false });
  await off.pm.start();
  assert.equal(off.runtime.handler, null);
  await off.pm.stop();

  const plain = setUp();
  await plain.pm.start();
  await plain.pm.stop();
  assert.deepEqual(plain.runtime.endedAs, []);
});

test("ShutdownSignals alone: the mode each signal asks for, and nothing without the runtime's support", () => {
  const modes: string[] = [];
  let shutdownMode: string | null = null;
  let deliver: ((signal: ShutdownSignal) => void) | null = null;
  const ctx = {
    options: { handleSignals: true },
    adapter: {
      catchShutdownSignals: (handler: (signal: ShutdownSignal) => void) => (deliver = handler, () => deliver = null),
    },
    state: {
      get shutdownMode() {
        return shutdownMode;
      },
    },
    log: () => {},
  } as unknown as PostmasterContext;
  const signals = new ShutdownSignals(ctx, (mode) => (modes.push(mode), shutdownMode = mode, Promise.resolve()));
  signals.catch();
  deliver!("SIGINT");
  deliver!("SIGINT");
  assert.deepEqual(modes, ["fast", "immediate"]);
  signals.release();
  assert.equal(deliver, null);

  const bare = new ShutdownSignals({ ...ctx, adapter: {} } as PostmasterContext, () => Promise.resolve());
  bare.catch();
  bare.release(); // no runtime support: nothing taken, nothing to end
});
