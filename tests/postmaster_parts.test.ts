import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerProcess } from "../src/adapter.ts";
import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import { KillTimer } from "../src/postmaster/kill_timer.ts";
import { LiveProcesses } from "../src/postmaster/live_processes.ts";
import { Notifier, type WorkerNotification } from "../src/postmaster/notifier.ts";
import { SlotTimers } from "../src/postmaster/slot_timers.ts";
import { SlotTable } from "../src/postmaster/slot_table.ts";
import type { SignalName } from "../src/signal_names.ts";
import { validateBackgroundWorker } from "../src/worker_spec.ts";
import { FakeRuntime, worker } from "./helpers/fake_runtime.ts";

const entry = (name: string, notify = 0) =>
  validateBackgroundWorker(worker(name, { bgw_notify_pid: notify }), { dynamic: true });
function process(pid: number): WorkerProcess & { signals: SignalName[]; sent: unknown[] } {
  const signals: SignalName[] = [];
  const sent: unknown[] = [];
  return { pid, signals, sent, send: (m) => void sent.push(m), kill: (s) => void signals.push(s) };
}

test("slot table: lowest free slot, generations never repeat, a stale handle reads as stopped", () => {
  const table = new SlotTable(2);
  const a = table.allocate(entry("a"), true)!;
  const b = table.allocate(entry("b"), true)!;
  assert.equal(table.allocate(entry("c"), true), null);
  assert.deepEqual([a.slot, b.slot], [0, 1]);
  const old = SlotTable.handleOf(a);
  assert.ok(Object.isFrozen(old));
  table.release(a);
  const again = table.allocate(entry("d"), true)!;
  assert.deepEqual([again.slot, again.generation], [0, 2]);
  assert.equal(table.lookup(old), null);
  assert.equal(SlotTable.statusOf(table.lookup(old)).status, BGWH_STOPPED);
  assert.equal(table.inUseNow(a), false);
});

test("slot table: each state change, and the status each phase answers", () => {
  const table = new SlotTable(1);
  const slot = table.allocate(entry("w", 1000), true)!;
  assert.equal(SlotTable.statusOf(slot).status, BGWH_NOT_YET_STARTED);
  const p = process(42);
  table.launched(slot, p);
  assert.deepEqual([slot.phase, SlotTable.statusOf(slot).status], ["launching", BGWH_NOT_YET_STARTED]);
  table.reportedIn(slot, 1_700_000_000_000);
  assert.deepEqual(SlotTable.statusOf(slot), { status: BGWH_STARTED, pid: 42 });
  assert.equal(table.byPid(42), slot);
  assert.deepEqual([slot.startedAt, slot.launches, SlotTable.stateOf(slot, false)], [1_700_000_000_000, 1, "running"]);
  assert.equal(SlotTable.stateOf(slot, true), "stopping");
  table.processGone(slot, p, { code: 1, signal: null, at: 1_700_000_000_500 });
  table.waitForRestart(slot, 1_700_000_010_500);
  assert.deepEqual([slot.phase, slot.process, SlotTable.statusOf(slot).status], ["restart_wait", null, BGWH_STOPPED]);
  assert.deepEqual([slot.startedAt, slot.lastExit, slot.nextRestartAt, SlotTable.stateOf(slot, false)], [
    null,
    { code: 1, signal: null, at: 1_700_000_000_500 },
    1_700_000_010_500,
    "waiting_restart",
  ]);
  table.readyToStart(slot);
  assert.equal(SlotTable.statusOf(slot).status, BGWH_STOPPED, "it ran once: stopped, not 'not yet started'");
  table.markTerminate(slot);
  table.markKilledByPostmaster(slot);
  assert.deepEqual([slot.terminate, slot.killedByPostmaster], [true, true]);
  assert.equal(table.recordNotified(slot, "0:42"), true);
  assert.equal(table.recordNotified(slot, "0:42"), false, "told once");
  table.stopNotificationsTo(1000);
  assert.equal(slot.notifyPid, 0);
});

test("live processes: signals held while booting, SIGKILL never held, delivered once the worker reports in", () => {
  const live = new LiveProcesses();
  const p = process(7);
  live.add(p);
  live.signal(p, "SIGTERM");
  live.signalAll("SIGHUP");
  assert.deepEqual(p.signals, []);
  live.signal(p, "SIGKILL");
  assert.deepEqual(p.signals, ["SIGKILL"]);
  live.reportedIn(p);
  assert.deepEqual(p.signals, ["SIGKILL", "SIGTERM", "SIGHUP"]);
  live.signal(p, "SIGUSR1");
  assert.equal(p.signals.at(-1), "SIGUSR1");
  assert.equal(live.size, 1);
  assert.equal(live.remove(p), true);
  assert.equal(live.remove(p), false, "an exit is handled once");
});

test("live processes: each SIGTERM is announced on the channel right after the signal, a held one when it is delivered", () => {
  const live = new LiveProcesses();
  const order: string[] = [];
  const p: WorkerProcess = {
    pid: 8,
    send: (m) => void order.push((m as { type: string }).type),
    kill: (s) => void order.push(s),
  };
  live.add(p);
  live.signal(p, "SIGTERM");
  assert.deepEqual(order, [], "held while it boots: nothing sent yet, not even the announcement");
  live.reportedIn(p);
  assert.deepEqual(order, ["SIGTERM", "sigterm_sent"], "after the signal: a worker the kernel ended never reads it");
  live.signalAll("SIGTERM");
  live.signal(p, "SIGHUP");
  live.signal(p, "SIGKILL");
  assert.deepEqual(order, ["SIGTERM", "sigterm_sent", "SIGTERM", "sigterm_sent", "SIGHUP", "SIGKILL"], "only SIGTERM");
});

test("kill timer: one deadline, not extended, cleared when all are gone", () => {
  const clock = new FakeRuntime();
  let fired = 0;
  const timer = new KillTimer(clock, 5000, () => fired++);
  timer.arm();
  clock.advance(3000);
  timer.arm();
  clock.advance(2000);
  assert.equal(fired, 1);
  timer.arm();
  timer.clear();
  clock.advance(10_000);
  assert.equal(fired, 1);
});

test("restart timers: one per slot, replaced and cancelled", () => {
  const clock = new FakeRuntime();
  const table = new SlotTable(1);
  const slot = table.allocate(entry("w"), true)!;
  const due: string[] = [];
  const restarts = new SlotTimers(clock);
  restarts.schedule(slot, 1000, () => due.push("first"));
  restarts.schedule(slot, 2000, () => due.push("second"));
  clock.advance(1500);
  assert.equal(due.length, 0);
  clock.advance(500);
  assert.deepEqual(due, ["second"]);
  restarts.schedule(slot, 10, () => due.push("third"));
  restarts.cancel(slot);
  clock.advance(100);
  assert.deepEqual(due, ["second"]);
  assert.equal(clock.pendingTimers, 0);
});

test("notifier: tells the postmaster once per change, a worker over its channel, and wakes waiters", async () => {
  const table = new SlotTable(3);
  const told: WorkerNotification[] = [];
  const notifier = new Notifier(table, 1000, (n) => told.push(n));
  const mine = table.allocate(entry("mine", 1000), true)!;
  notifier.notify(mine);
  notifier.notify(mine);
  assert.equal(told.length, 1);
  assert.equal(told[0]!.status, BGWH_NOT_YET_STARTED);

  const parent = table.allocate(entry("parent"), true)!;
  const parentProcess = process(77);
  table.launched(parent, parentProcess);
  const child = table.allocate(entry("child", 77), true)!;
  notifier.notify(child);
  assert.deepEqual(parentProcess.sent, [{
    type: "notify",
    slot: 2,
    generation: 1,
    status: BGWH_NOT_YET_STARTED,
    pid: null,
  }]);

  await assert.rejects(
    notifier.waitFor(SlotTable.handleOf(parent), "waitForBackgroundWorkerStartup", () => undefined),
    /requires bgw_notify_pid to be the caller's pid/,
  );
  const handle = SlotTable.handleOf(mine);
  const waiting = notifier.waitFor(
    handle,
    "waitForBackgroundWorkerShutdown",
    () => table.lookup(handle) ? undefined : BGWH_STOPPED,
  );
  table.release(mine);
  notifier.notify(mine);
  assert.equal(await waiting, BGWH_STOPPED);
  await assert.rejects(notifier.waitFor({ slot: -1, generation: 0 }, "x", () => 0), /invalid handle/);
});
