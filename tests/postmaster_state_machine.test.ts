import assert from "node:assert/strict";
import { test } from "node:test";
import { PostmasterState } from "../src/postmaster/pm_state.ts";

function machine(recovery = false) {
  const logs: string[] = [];
  return { state: new PostmasterState(recovery, (level, message) => logs.push(`${level}: ${message}`)), logs };
}

test("start-up leads to the running state recovery has reached, with PostgreSQL's line", () => {
  const { state, logs } = machine(true);
  state.transition("startup");
  assert.equal(state.isRunning, false);
  state.transition(state.runningState);
  assert.deepEqual([state.current, state.isRunning], ["recovery", true]);
  assert.deepEqual(logs, ["LOG: database system is in recovery"]);
  assert.equal(state.startTimeReached(0), true);
  assert.equal(state.startTimeReached(1), false);
  assert.equal(state.advanceRecovery("hot_standby"), true);
  assert.equal(state.startTimeReached(1), true);
  assert.equal(state.startTimeReached(2), false);
  assert.equal(state.advanceRecovery("run"), true);
  assert.equal(state.advanceRecovery("hot_standby"), false, "never back");
  assert.deepEqual(logs.slice(1), [
    "LOG: database system is ready to accept read-only connections",
    "LOG: database system is ready to accept connections",
  ]);
});

test("recovery that advances before start() is remembered", () => {
  const { state } = machine(true);
  assert.equal(state.advanceRecovery("run"), false, "not running yet: nothing to log");
  state.transition("startup");
  state.transition(state.runningState);
  assert.equal(state.current, "run");
});

test("a crash cycle returns to the state reached, and says so", () => {
  const { state, logs } = machine();
  state.transition("startup");
  state.transition("run");
  state.transition("crash");
  assert.equal(state.isRunning, false);
  state.transition(state.runningState);
  assert.deepEqual(logs.slice(1), [
    "LOG: terminating any other active server processes",
    "LOG: all server processes terminated; reinitializing",
  ]);
});

test("shutdown: only a stronger mode takes over; stopped is final; registrations follow the state", () => {
  const { state, logs } = machine();
  assert.equal(state.acceptsStaticWorkers, true);
  state.transition("startup");
  state.transition("run");
  assert.deepEqual([state.acceptsStaticWorkers, state.acceptsDynamicWorkers], [false, true]);
  assert.equal(state.shutdownTakesOver("fast"), true);
  state.transition("stop_fast");
  assert.equal(state.shutdownMode, "fast");
  assert.equal(state.acceptsDynamicWorkers, false);
  assert.equal(state.shutdownTakesOver("smart"), false);
  assert.equal(state.shutdownTakesOver("immediate"), true);
  state.transition("stopped");
  assert.equal(state.shutdownTakesOver("immediate"), false);
  assert.throws(() => state.transition("run"), /no transition out of "stopped"/);
  assert.ok(logs.includes("LOG: received fast shutdown request"));
});
