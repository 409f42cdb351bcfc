import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundWorkerError } from "../src/errors.ts";
import { LOG_LEVELS } from "../src/log_level.ts";
import {
  MAX_MESSAGE_BYTES,
  parseWorkerMessage,
  type PostmasterMessage,
  type StartMessage,
  toWireError,
  type WorkerMessage,
} from "../src/protocol.ts";

test("MAX_MESSAGE_BYTES: one MiB of JSON", () => {
  assert.equal(MAX_MESSAGE_BYTES, 1024 * 1024);
});

test("parseWorkerMessage: each message shape a worker sends is accepted and returned as a fresh copy without other fields", () => {
  const good: [unknown, WorkerMessage][] = [
    [{ type: "started" }, { type: "started" }],
    [{ type: "ready", extra: true }, { type: "ready" }],
    [{ type: "log", level: "WARNING", message: "careful", pid: 1 }, {
      type: "log",
      level: "WARNING",
      message: "careful",
    }],
    [{ type: "request", id: 0, op: "register", worker: "{}" }, {
      type: "request",
      id: 0,
      op: "register",
      worker: "{}",
    }],
    [
      { type: "request", id: 7, op: "getpid", handle: { slot: 1, generation: 2, x: 3 } },
      { type: "request", id: 7, op: "getpid", handle: { slot: 1, generation: 2 } },
    ],
    [
      { type: "request", id: 8, op: "terminate", handle: { slot: 0, generation: 0 } },
      { type: "request", id: 8, op: "terminate", handle: { slot: 0, generation: 0 } },
    ],
  ];
  for (const [input, expected] of good) {
    const parsed = parseWorkerMessage(input);
    assert.deepEqual(parsed, expected, JSON.stringify(input));
    assert.notEqual(parsed, input);
  }
  for (const level of LOG_LEVELS) {
    assert.deepEqual(parseWorkerMessage({ type: "log", level, message: "" }), { type: "log", level, message: "" });
  }
});

test("parseWorkerMessage: a handle in a request is a copy, not the object that came in", () => {
  const handle = { slot: 4, generation: 1 };
  const parsed = parseWorkerMessage({ type: "request", id: 1, op: "getpid", handle });
  assert.ok(!("invalid" in parsed) && parsed.type === "request" && parsed.op === "getpid");
  assert.notEqual(parsed.handle, handle);
});

test("parseWorkerMessage: garbage is an invalid message saying why, never an exception", () => {
  const bad: [unknown, RegExp][] = [
    [null, /expected an object, got null/],
    [undefined, /expected an object, got undefined/],
    [42, /expected an object, got number/],
    ["started", /expected an object, got string/],
    [[{ type: "started" }], /expected an object, got object/],
    [{}, /unknown message type "undefined"/],
    [{ type: "hack" }, /unknown message type "hack"/],
    [{ type: "x".repeat(500) }, /unknown message type/],
    [{ type: "log", level: "PANIC", message: "m" }, /log message without a known level and a text/],
    [{ type: "log", level: "LOG" }, /log message without a known level and a text/],
    [{ type: "log", level: "LOG", message: 1 }, /log message without a known level and a text/],
    [{ type: "request", op: "getpid", handle: { slot: 0, generation: 1 } }, /request without a numeric id/],
    [{ type: "request", id: -1, op: "getpid", handle: { slot: 0, generation: 1 } }, /request without a numeric id/],
    [{ type: "request", id: 1.5, op: "getpid", handle: { slot: 0, generation: 1 } }, /request without a numeric id/],
    [{ type: "request", id: "1", op: "getpid", handle: { slot: 0, generation: 1 } }, /request without a numeric id/],
    [{ type: "request", id: 1, op: "register" }, /register request without an encoded worker/],
    [
      { type: "request", id: 1, op: "register", worker: { bgw_name: "w" } },
      /register request without an encoded worker/,
    ],
    [{ type: "request", id: 1, op: "getpid" }, /getpid request without a valid handle/],
    [
      { type: "request", id: 1, op: "terminate", handle: { slot: "0", generation: 1 } },
      /terminate request without a valid handle/,
    ],
    // The embedded cluster's per-database servers are gone, and with them the request that named them.
    [{ type: "request", id: 1, op: "database", dbname: "d", role: null }, /unknown request "database"/],
    [{ type: "request", id: 1, op: "format c:" }, /unknown request "format c:"/],
    [{ type: "request", id: 1 }, /unknown request "undefined"/],
  ];
  for (const [input, why] of bad) {
    const parsed = parseWorkerMessage(input);
    assert.ok("invalid" in parsed, `${JSON.stringify(input)} was accepted`);
    assert.match(parsed.invalid, why);
    assert.ok(parsed.invalid.length < 120, "the reason quotes at most a short piece of the input");
  }
});

test("toWireError: an error's name and message; a BackgroundWorkerError's worker, field, code, detail and hint too", () => {
  assert.deepEqual(toWireError(new RangeError("bad")), { name: "RangeError", message: "bad" });
  const typed = new BackgroundWorkerError("invalid handle", {
    worker: "w",
    field: "handle",
    code: "invalid_handle",
    detail: "d",
  });
  assert.deepEqual(toWireError(typed), {
    name: "BackgroundWorkerError",
    message: 'background worker "w": invalid handle',
    worker: "w",
    field: "handle",
    code: "invalid_handle",
    detail: "d",
  });
  const noField = new BackgroundWorkerError("too many background workers", {
    worker: "w",
    code: "configuration_limit_exceeded",
  });
  assert.equal("field" in toWireError(noField), false);
});

test("toWireError: non-string extra fields are left out; anything not an Error becomes an Error's text; the result survives JSON", () => {
  const odd = Object.assign(new Error("odd"), { worker: 1, field: null, code: { x: 1 } });
  assert.deepEqual(toWireError(odd), { name: "Error", message: "odd" });
  assert.deepEqual(toWireError("just text"), { name: "Error", message: "just text" });
  assert.deepEqual(toWireError(404), { name: "Error", message: "404" });
  assert.deepEqual(toWireError(undefined), { name: "Error", message: "undefined" });
  const wire = toWireError(new BackgroundWorkerError("x", { worker: "w", code: "invalid_parameter_value" }));
  assert.deepEqual(JSON.parse(JSON.stringify(wire)), wire);
});

test("postmaster messages: a start message is plain data that survives JSON unchanged", () => {
  const start: StartMessage = {
    type: "start",
    entry: "{}",
    libraryUrl: null,
    slot: 0,
    generation: 1,
    postmasterPid: 42,
    title: "bgworker: w",
    sharedMemory: { name: "/bgworker.42.1", size: 81920 },
    database: { unavailable: "no database configured" },
  };
  const messages: PostmasterMessage[] = [
    start,
    { type: "notify", slot: 0, generation: 1, status: 0, pid: 99 },
    { type: "reply", id: 1, ok: true, value: { slot: 0, generation: 1 } },
    { type: "reply", id: 2, ok: false, error: { name: "Error", message: "no" } },
    { type: "ping", sharedMemory: false },
  ];
  assert.deepEqual(JSON.parse(JSON.stringify(messages)), messages);
});
