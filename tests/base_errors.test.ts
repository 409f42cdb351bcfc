import assert from "node:assert/strict";
import { test } from "node:test";
import { BackgroundWorkerError, errorText, notifyPidRequiredError } from "../src/errors.ts";

test("BackgroundWorkerError: PostgreSQL's prefix naming the worker, and every option as a property", () => {
  const cause = new RangeError("underlying");
  const error = new BackgroundWorkerError("bgw_name is too long", {
    worker: "w1",
    field: "bgw_name",
    code: "invalid_parameter_value",
    detail: "The name is 120 bytes.",
    hint: "Shorten it.",
    cause,
  });
  assert.ok(error instanceof Error);
  assert.ok(error instanceof BackgroundWorkerError);
  assert.equal(error.name, "BackgroundWorkerError");
  assert.equal(error.message, 'background worker "w1": bgw_name is too long');
  assert.equal(error.worker, "w1");
  assert.equal(error.field, "bgw_name");
  assert.equal(error.code, "invalid_parameter_value");
  assert.equal(error.detail, "The name is 120 bytes.");
  assert.equal(error.hint, "Shorten it.");
  assert.equal(error.cause, cause);
  assert.match(String(error), /^BackgroundWorkerError: background worker "w1": bgw_name is too long/);
});

test("BackgroundWorkerError: the optional fields are undefined when not given", () => {
  const error = new BackgroundWorkerError("too many background workers", {
    worker: "w2",
    code: "configuration_limit_exceeded",
  });
  assert.equal(error.field, undefined);
  assert.equal(error.detail, undefined);
  assert.equal(error.hint, undefined);
  assert.equal(error.cause, undefined);
  assert.equal(error.code, "configuration_limit_exceeded");
});

test("errorText: an error's message, without its name or stack", () => {
  assert.equal(errorText(new Error("boom")), "boom");
  assert.equal(errorText(new TypeError("not a function")), "not a function");
  assert.equal(
    errorText(new BackgroundWorkerError("invalid handle", { worker: "w", code: "invalid_handle" })),
    'background worker "w": invalid handle',
  );
  assert.equal(errorText(new Error("")), "");
});

test("errorText: anything else thrown, as a string", () => {
  assert.equal(errorText(42), "42");
  assert.equal(errorText("plain string"), "plain string");
  assert.equal(errorText(undefined), "undefined");
  assert.equal(errorText(null), "null");
  assert.equal(errorText({ toString: () => "custom" }), "custom");
  assert.equal(errorText({ message: "looks like an error" }), "[object Object]");
});

test("notifyPidRequiredError: a typed error on bgw_notify_pid that names the caller, both pids and the fix", () => {
  const error = notifyPidRequiredError("waitForBackgroundWorkerStartup", {
    worker: "late",
    notifyPid: 0,
    callerPid: 4242,
    callerName: "the postmaster",
    hint: "bgw_notify_pid: pm.pid",
  });
  assert.ok(error instanceof BackgroundWorkerError);
  assert.equal(
    error.message,
    `background worker "late": waitForBackgroundWorkerStartup requires bgw_notify_pid to be the caller's pid`,
  );
  assert.equal(error.worker, "late");
  assert.equal(error.field, "bgw_notify_pid");
  assert.equal(error.code, "object_not_in_prerequisite_state");
  assert.equal(error.detail, "The worker was registered with bgw_notify_pid = 0; the postmaster is 4242.");
  assert.equal(error.hint, "Register it with bgw_notify_pid: pm.pid to be told when it starts and stops.");
});
