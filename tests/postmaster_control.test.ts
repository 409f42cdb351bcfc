import assert from "node:assert/strict";
import { test } from "node:test";
import type { ControlPeer, ControlService } from "../src/adapter.ts";
import { MAX_LOG_LINES } from "../src/control_protocol.ts";
import { ControlSocket } from "../src/postmaster/control.ts";
import { LogRing } from "../src/postmaster/log_ring.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

/** A fake runtime whose control socket is a function the test calls, with a peer that records what it is sent. */
function withControl() {
  const made = fakePostmaster({ controlSocket: true });
  let service: ControlService | null = null;
  let closed = 0;
  Object.assign(made.runtime, {
    serveControl(path: string | null, serve: ControlService) {
      assert.equal(path, null, "true: the default place");
      service = serve;
      return Promise.resolve({
        path: "/run/user/1000/bgworker/1000.sock",
        close: () => Promise.resolve(void closed++),
      });
    },
  });
  const ask = (request: Parameters<ControlService>[0]) => {
    const sent: Record<string, unknown>[] = [];
    const closers: (() => void)[] = [];
    const peer: ControlPeer = { send: (m) => sent.push(m as Record<string, unknown>), onClose: (l) => closers.push(l) };
    service!(request, peer);
    return { sent, hangUp: () => closers.forEach((c) => c()) };
  };
  return { ...made, ask, closedCount: () => closed };
}

test("control: opened at start, each op answered from the postmaster's API, closed at stop", async () => {
  const { pm, runtime, ask, closedCount } = withControl();
  const handle = pm.registerDynamicBackgroundWorker(worker("w"))!;
  await pm.start();
  assert.equal(pm.controlSocketPath, "/run/user/1000/bgworker/1000.sock");
  runtime.last("w").reportStarted();
  const ps = ask({ id: 1, op: "ps" }).sent[0]!;
  assert.equal(ps.postmasterPid, 1000);
  assert.deepEqual((ps.workers as { bgw_name: string }[]).map((w) => w.bgw_name), ["w"]);
  assert.match(ask({ id: 2, op: "metrics" }).sent[0]!.text as string, /^# HELP bgworker_workers /);
  assert.deepEqual(ask({ id: 3, op: "reload" }).sent, [{ id: 3, ok: true }]);
  assert.deepEqual(runtime.last("w").signals, ["SIGHUP"]);
  assert.deepEqual(ask({ id: 4, op: "terminate", handle }).sent, [{ id: 4, ok: true }]);
  assert.deepEqual(runtime.last("w").signals, ["SIGHUP", "SIGTERM"]);
  runtime.last("w").exit(null, "SIGTERM");

  const follow = ask({ id: 5, op: "logs", lines: 2, follow: true, name: null });
  assert.equal((follow.sent[0]!.lines as unknown[]).length, 2);
  pm.reloadConfiguration(); // logs a line: the follower hears it
  assert.match((follow.sent[1] as { line: { message: string } }).line.message, /reloading configuration/);
  follow.hangUp();
  pm.reloadConfiguration();
  assert.equal(follow.sent.length, 2, "not after the client left");

  assert.deepEqual(ask({ id: 6, op: "stop", mode: "fast" }).sent, [{ id: 6, ok: true }]);
  await pm.stop("fast");
  await Promise.resolve();
  assert.equal(closedCount(), 1);
  assert.equal(pm.controlSocketPath, null);
});

test("control: without the option, nothing is opened and no log line is kept", async () => {
  const { pm, runtime } = fakePostmaster();
  let asked = false;
  Object.assign(runtime, { serveControl: () => (asked = true, Promise.reject(new Error("not wanted"))) });
  await pm.start();
  assert.equal(asked, false);
  assert.equal(pm.controlSocketPath, null);
  // The room alone, with the option off: open() is a no-op that asks the adapter nothing.
  const ctx = { options: { controlSocket: null }, listeners: { on: () => () => {} }, adapter: runtime };
  const room = new ControlSocket(ctx as unknown as ConstructorParameters<typeof ControlSocket>[0], {
    workers: () => [],
    metrics: () => "",
    reload: () => {},
    stop: () => Promise.resolve(),
    cluster: () => Promise.resolve({}),
  }, null);
  await room.open();
  assert.equal(room.path, null);
  assert.equal(asked, false);
});

test("log ring: bounded, filtered by worker name, followed until unsubscribed", () => {
  const ring = new LogRing();
  for (let i = 0; i < MAX_LOG_LINES + 5; i++) {
    ring.push({ at: i, level: "LOG", message: `line ${i}`, worker: i % 2 ? { name: "odd", pid: 7 } : null });
  }
  assert.equal(ring.last(MAX_LOG_LINES, null).length, MAX_LOG_LINES, "the oldest dropped");
  assert.equal(ring.last(1, null)[0]!.message, `line ${MAX_LOG_LINES + 4}`);
  assert.ok(ring.last(10, "odd").every((line) => line.worker?.name === "odd"));
  assert.deepEqual(ring.last(0, null), []);
  const heard: string[] = [];
  const stop = ring.follow((line) => heard.push(line.message));
  ring.push({ at: 0, level: "LOG", message: "new", worker: null });
  stop();
  ring.push({ at: 0, level: "LOG", message: "unheard", worker: null });
  assert.deepEqual(heard, ["new"]);
});
