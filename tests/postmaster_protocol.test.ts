import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { parseWorkerMessage } from "../src/protocol.ts";
import { encodeWorkerEntry, validateBackgroundWorker } from "../src/worker_spec.ts";
import { fakePostmaster, worker } from "./helpers/fake_runtime.ts";

const GARBAGE: [string, unknown][] = [
  ["a number", 42],
  ["null", null],
  ["an array", [1, 2]],
  ["an unknown type", { type: "hack" }],
  ["a request without id", { type: "request", op: "getpid", handle: { slot: 0, generation: 1 } }],
  ["an unknown request", { type: "request", id: 1, op: "format c:" }],
  ["a bad handle", { type: "request", id: 1, op: "terminate", handle: { slot: "0" } }],
];

for (const [what, message] of GARBAGE) {
  test(`a worker sending ${what} is logged and killed, never restarted, and the postmaster carries on`, async () => {
    const { pm, runtime } = fakePostmaster();
    pm.registerBackgroundWorker(worker("hostile", { bgw_restart_time: 0, bgw_flags: BGWORKER_SHMEM_ACCESS }));
    pm.registerBackgroundWorker(worker("bystander"));
    await pm.start();
    const hostile = runtime.last("hostile").reportStarted();
    const bystander = runtime.last("bystander").reportStarted();
    hostile.post(message);
    assert.deepEqual(hostile.signals, ["SIGKILL"]);
    assert.ok(
      runtime.logs.some((l) =>
        l.startsWith(`WARNING:  background worker "hostile" (PID ${hostile.pid}) broke the protocol on its channel: `)
      ),
    );
    hostile.exit(null, "SIGKILL");
    runtime.advance(1000);
    assert.equal(runtime.count("hostile"), 1);
    assert.deepEqual(bystander.signals, [], "a kill the postmaster ordered is no crash");
    assert.ok(pm.registerDynamicBackgroundWorker(worker("still serving")));
  });
}

test("an oversized or unparsable message reported by the adapter is handled the same way", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("noisy"));
  await pm.start();
  const noisy = runtime.last("noisy").reportStarted();
  noisy.events.protocolError("message of 2000000 bytes exceeds 1048576");
  noisy.events.protocolError("again");
  assert.deepEqual(noisy.signals, ["SIGKILL"], "killed once");
  assert.equal(runtime.logs.filter((l) => l.startsWith("WARNING")).length, 1);
});

test("reporting in twice is a protocol violation", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("twice"));
  await pm.start();
  const p = runtime.last("twice").reportStarted();
  p.reportStarted();
  assert.deepEqual(p.signals, ["SIGKILL"]);
});

test("a worker registers a dynamic worker, polls it and terminates it over its channel", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("parent"));
  await pm.start();
  const parent = runtime.last("parent").reportStarted();
  const entry = validateBackgroundWorker(worker("child", { bgw_notify_pid: parent.pid }), { dynamic: true });
  parent.post({ type: "request", id: 1, op: "register", worker: encodeWorkerEntry(entry) });
  const reply = parent.sent.at(-1) as { id: number; ok: boolean; value: { slot: number; generation: number } };
  assert.equal(reply.id, 1);
  assert.equal(reply.ok, true);
  const handle = reply.value;
  const child = runtime.last("child").reportStarted();
  parent.post({ type: "request", id: 2, op: "getpid", handle });
  assert.deepEqual(parent.sent.at(-1), {
    type: "reply",
    id: 2,
    ok: true,
    value: { status: BGWH_STARTED, pid: child.pid, notifyPid: parent.pid, name: "child" },
  });
  parent.post({ type: "request", id: 3, op: "terminate", handle });
  assert.deepEqual(child.signals, ["SIGTERM"]);
  child.exit(1);
  assert.deepEqual(pm.getBackgroundWorkerPid(handle), { status: BGWH_STOPPED, pid: null });
});

test("a worker's invalid registration is answered with the typed error's fields, and the worker lives on", async () => {
  const { pm, runtime } = fakePostmaster();
  pm.registerBackgroundWorker(worker("parent"));
  await pm.start();
  const parent = runtime.last("parent").reportStarted();
  const tampered = encodeWorkerEntry(validateBackgroundWorker(worker("child"), { dynamic: true })).replace(
    '"bgw_restart_time":10',
    '"bgw_restart_time":-9',
  );
  parent.post({ type: "request", id: 7, op: "register", worker: tampered });
  const stolen = encodeWorkerEntry(validateBackgroundWorker(worker("child", { bgw_notify_pid: 1 }), { dynamic: true }));
  parent.post({ type: "request", id: 8, op: "register", worker: stolen });
  parent.post({ type: "request", id: 9, op: "register", worker: "{not json" });
  const [bad, other, unparsable] = parent.sent.slice(-3) as {
    id: number;
    ok: boolean;
    error: Record<string, string>;
  }[];
  const { detail, ...error } = bad!.error;
  assert.deepEqual({ ...bad, error }, {
    type: "reply",
    id: 7,
    ok: false,
    error: {
      name: "BackgroundWorkerError",
      message: 'background worker "child": invalid restart interval',
      worker: "child",
      field: "bgw_restart_time",
      code: "invalid_parameter_value",
    },
  });
  assert.match(
    detail!,
    /bgw_restart_time must be 0 to 86400000 seconds or BGW_NEVER_RESTART/,
    "the detail crosses the channel too",
  );
  assert.equal(other!.error.field, "bgw_notify_pid");
  assert.equal(unparsable!.ok, false);
  assert.deepEqual(parent.signals, []);
});

test("parseWorkerMessage accepts exactly the documented shapes", () => {
  assert.deepEqual(parseWorkerMessage({ type: "started", extra: 1 }), { type: "started" });
  assert.deepEqual(parseWorkerMessage({ type: "request", id: 3, op: "getpid", handle: { slot: 1, generation: 2 } }), {
    type: "request",
    id: 3,
    op: "getpid",
    handle: { slot: 1, generation: 2 },
  });
  assert.ok(
    "invalid" in parseWorkerMessage({ type: "request", id: -1, op: "getpid", handle: { slot: 1, generation: 2 } }),
  );
  assert.ok("invalid" in parseWorkerMessage({ type: "request", id: 1, op: "register", worker: {} }));
});
