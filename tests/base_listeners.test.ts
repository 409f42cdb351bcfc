import assert from "node:assert/strict";
import { test } from "node:test";
import { Listeners } from "../src/listeners.ts";

type Events = { tick: number; name: string };

test("Listeners: every listener of an event gets its payload, in the order added; other events' listeners are not called", () => {
  const errors: unknown[] = [];
  const events = new Listeners<Events>((e) => errors.push(e));
  const calls: string[] = [];
  events.on("tick", (n) => calls.push(`a${n}`));
  events.on("tick", (n) => calls.push(`b${n}`));
  events.on("name", (s) => calls.push(`name ${s}`));
  events.emit("tick", 1);
  events.emit("tick", 2);
  assert.deepEqual(calls, ["a1", "b1", "a2", "b2"]);
  events.emit("name", "w");
  assert.deepEqual(calls.at(-1), "name w");
  assert.deepEqual(errors, []);
});

test("Listeners: emitting an event nobody listens to does nothing", () => {
  const errors: unknown[] = [];
  const events = new Listeners<Events>((e) => errors.push(e));
  events.emit("tick", 1);
  assert.deepEqual(errors, []);
});

test("Listeners: a listener that throws goes to onError and the others are still called", () => {
  const errors: unknown[] = [];
  const events = new Listeners<Events>((e) => errors.push(e));
  const seen: number[] = [];
  const boom = new Error("listener failed");
  events.on("tick", (n) => seen.push(n));
  events.on("tick", () => {
    throw boom;
  });
  events.on("tick", () => {
    throw "not an Error";
  });
  events.on("tick", (n) => seen.push(n * 10));
  assert.doesNotThrow(() => events.emit("tick", 3));
  assert.deepEqual(seen, [3, 30]);
  assert.deepEqual(errors, [boom, "not an Error"]);
});

test("Listeners: on() returns a function that removes that listener only; calling it twice is harmless", () => {
  const events = new Listeners<Events>(() => {});
  const calls: string[] = [];
  const offA = events.on("tick", () => calls.push("a"));
  events.on("tick", () => calls.push("b"));
  offA();
  offA();
  events.emit("tick", 1);
  assert.deepEqual(calls, ["b"]);
});

test("Listeners: a listener added or removed while an event is emitted takes effect from the next emit", () => {
  const events = new Listeners<Events>(() => {});
  const calls: string[] = [];
  let offB = () => {};
  events.on("tick", (n) => {
    calls.push(`a${n}`);
    if (n === 1) {
      offB();
      events.on("tick", (m) => calls.push(`c${m}`));
    }
  });
  offB = events.on("tick", (n) => calls.push(`b${n}`));
  events.emit("tick", 1);
  assert.deepEqual(calls, ["a1", "b1"]);
  events.emit("tick", 2);
  assert.deepEqual(calls, ["a1", "b1", "a2", "c2"]);
});
