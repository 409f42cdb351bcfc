// The worker's channel (src/worker/channel.ts) and the handle functions
// over it (src/worker/handle_functions.ts), with the test as the postmaster.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_NOT_YET_STARTED, BGWH_POSTMASTER_DIED, BGWH_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { BackgroundWorkerHandle } from "../src/handle.ts";
import { fromWireError, request } from "../src/worker/channel.ts";
import {
  getBackgroundWorkerPid,
  registerDynamicBackgroundWorker,
  terminateBackgroundWorker,
  waitForBackgroundWorkerShutdown,
  waitForBackgroundWorkerStartup,
} from "../src/worker/handle_functions.ts";
import { myLatch } from "../src/worker/identity.ts";
import { backgroundWorkerUnblockSignals } from "../src/worker/signals.ts";
import { resetWorkerStateForTests } from "../src/worker/state.ts";
import { decodeWorkerEntry } from "../src/worker_spec.ts";
import { bootWorker, flush, testWorker } from "./helpers/fake_worker_port.ts";

const HANDLE: BackgroundWorkerHandle = { slot: 3, generation: 2 };
const ME = 4242;

test("channel: each request has its own id and is answered by the reply with that id, in any order", async () => {
  const port = bootWorker();
  const first = getBackgroundWorkerPid(HANDLE);
  const second = getBackgroundWorkerPid({ slot: 4, generation: 1 });
  const [a, b] = port.messages<{ id: number; handle: BackgroundWorkerHandle }>("request");
  assert.notEqual(a!.id, b!.id);
  assert.deepEqual(a!.handle, HANDLE);
  port.deliver({ type: "reply", id: 999, ok: true, value: null }); // nobody asked: ignored
  port.deliver({ type: "mystery" }); // a newer postmaster's message: ignored
  port.reply(b!.id, { status: BGWH_STOPPED, pid: null, notifyPid: 0, name: "b" });
  port.reply(a!.id, { status: BGWH_STARTED, pid: 77, notifyPid: 0, name: "a" });
  assert.deepEqual(await first, { status: BGWH_STARTED, pid: 77 }, "only the status and the pid are given back");
  assert.deepEqual(await second, { status: BGWH_STOPPED, pid: null });
});

test("channel: a BackgroundWorkerError from the postmaster is rebuilt typed, its message prefixed once; other errors keep their name", async () => {
  const port = bootWorker();
  const asked = terminateBackgroundWorker(HANDLE);
  const { id } = await port.request("terminate");
  port.replyError(id, {
    name: "BackgroundWorkerError",
    message: 'background worker "w": no such thing',
    worker: "w",
    field: "handle",
    code: "invalid_handle",
  });
  await assert.rejects(asked, (e: unknown) => {
    assert.ok(e instanceof BackgroundWorkerError);
    assert.equal(e.message, 'background worker "w": no such thing');
    assert.deepEqual([e.worker, e.field, e.code], ["w", "handle", "invalid_handle"]);
    return true;
  });
  const plain = fromWireError({ name: "RangeError", message: "out of range" });
  assert.equal(plain.name, "RangeError");
  assert.equal(plain.message, "out of range");
  assert.equal(
    fromWireError({ name: "BackgroundWorkerError", message: "no worker named" }).constructor,
    Error,
    "without a worker it cannot be rebuilt typed",
  );
});

test("registerDynamicBackgroundWorker: validated here, sent by value, answered with a frozen handle or null", async () => {
  const port = bootWorker();
  await assert.rejects(
    registerDynamicBackgroundWorker(testWorker({ bgw_name: "x".repeat(200) })),
    BackgroundWorkerError,
  );
  assert.equal(port.messages("request").length, 0, "refused before anything was sent");
  const registered = registerDynamicBackgroundWorker(
    testWorker({ bgw_name: "helper", bgw_notify_pid: ME, bgw_main_arg: 5n }),
  );
  const sent = await port.request("register");
  const entry = decodeWorkerEntry((sent as { worker: string }).worker);
  assert.deepEqual([entry.bgw_name, entry.bgw_notify_pid, entry.bgw_main_arg], ["helper", ME, 5n]);
  port.reply(sent.id, { slot: 1, generation: 9 });
  const handle = await registered;
  assert.deepEqual(handle, { slot: 1, generation: 9 });
  assert.ok(Object.isFrozen(handle));
  const full = registerDynamicBackgroundWorker(testWorker());
  port.reply((await port.request("register")).id, null);
  assert.equal(await full, null, "no free slot");
});

test("handle functions: a handle that is not one is refused here with a typed error, not sent to cost the worker its process", async () => {
  const port = bootWorker();
  for (
    const call of [
      getBackgroundWorkerPid,
      terminateBackgroundWorker,
      waitForBackgroundWorkerStartup,
      waitForBackgroundWorkerShutdown,
    ] as ((h: unknown) => Promise<unknown>)[]
  ) {
    await assert.rejects(
      call({ slot: -1, generation: 0 }),
      (e: unknown) => e instanceof BackgroundWorkerError && e.code === "invalid_handle" && e.field === "handle",
    );
  }
  assert.equal(port.messages("request").length, 0);
});

test("waitForBackgroundWorkerStartup: asks once, then a notification wakes it; the notification also sets the latch", async () => {
  const port = bootWorker();
  const waiting = waitForBackgroundWorkerStartup(HANDLE);
  const { id } = await port.request("getpid");
  port.reply(id, { status: BGWH_NOT_YET_STARTED, pid: null, notifyPid: ME, name: "helper" });
  await flush();
  port.deliver({ type: "notify", slot: 9, generation: 1, status: BGWH_STARTED, pid: 1 }); // another handle's news
  port.deliver({ type: "notify", slot: HANDLE.slot, generation: HANDLE.generation, status: BGWH_STARTED, pid: 555 });
  assert.deepEqual(await waiting, { status: BGWH_STARTED, pid: 555 });
  assert.equal(port.messages("request").length, 1, "one round trip");
  assert.equal(myLatch.isSet, false, "the SIGUSR1 of a notification is held like any signal");
  backgroundWorkerUnblockSignals();
  assert.equal(myLatch.isSet, true);
});

test("waitForBackgroundWorkerShutdown: only news after the answer counts; a stopped worker answers at once", async () => {
  const port = bootWorker();
  port.deliver({ type: "notify", slot: HANDLE.slot, generation: HANDLE.generation, status: BGWH_STOPPED, pid: null }); // old news
  const waiting = waitForBackgroundWorkerShutdown(HANDLE);
  port.reply((await port.request("getpid")).id, { status: BGWH_STARTED, pid: 555, notifyPid: ME, name: "helper" });
  await flush();
  let done = false;
  void waiting.then(() => done = true);
  await flush();
  assert.equal(done, false, "the notification from before the answer is not news");
  port.deliver({ type: "notify", slot: HANDLE.slot, generation: HANDLE.generation, status: BGWH_STOPPED, pid: null });
  assert.equal(await waiting, BGWH_STOPPED);

  const gone = waitForBackgroundWorkerShutdown(HANDLE);
  port.reply((await port.request("getpid")).id, {
    status: BGWH_STOPPED,
    pid: null,
    notifyPid: 0,
    name: "(stale handle)",
  });
  assert.equal(await gone, BGWH_STOPPED, "no notify pid needed for what is already so");
});

test("waits on a worker registered without bgw_notify_pid = myProcPid throw the shared requirement error instead of hanging", async () => {
  const port = bootWorker();
  for (
    const wait of [
      waitForBackgroundWorkerStartup,
      waitForBackgroundWorkerShutdown,
    ] as ((h: BackgroundWorkerHandle) => Promise<unknown>)[]
  ) {
    const waiting = wait(HANDLE);
    port.reply((await port.request("getpid")).id, {
      status: BGWH_NOT_YET_STARTED,
      pid: null,
      notifyPid: 0,
      name: "helper",
    });
    await assert.rejects(waiting, (e: unknown) => {
      assert.ok(e instanceof BackgroundWorkerError);
      assert.match(
        e.message,
        new RegExp(`^background worker "helper": ${wait.name} requires bgw_notify_pid to be the caller's pid$`),
      );
      assert.equal(e.field, "bgw_notify_pid");
      assert.equal(e.detail, `The worker was registered with bgw_notify_pid = 0; this process is ${ME}.`);
      assert.equal(e.hint, "Register it with bgw_notify_pid: myProcPid to be told when it starts and stops.");
      return true;
    });
  }
});

test("postmaster death: pending requests are rejected, waits answer BGWH_POSTMASTER_DIED, new requests fail at once", async () => {
  const port = bootWorker();
  const beforeAnswer = waitForBackgroundWorkerStartup(HANDLE);
  const pending = getBackgroundWorkerPid({ slot: 5, generation: 1 });
  const rejected = assert.rejects(pending, /the postmaster is gone/);
  const afterAnswer = waitForBackgroundWorkerShutdown({ slot: 6, generation: 1 });
  await flush();
  const six = port.messages<{ id: number; handle: BackgroundWorkerHandle }>("request").find((r) =>
    r.handle.slot === 6
  )!;
  port.reply(six.id, { status: BGWH_STARTED, pid: 8, notifyPid: ME, name: "six" });
  await flush();
  port.disconnect();
  assert.equal(port.ended, false, "the waits listen for the death");
  assert.deepEqual(await beforeAnswer, { status: BGWH_POSTMASTER_DIED, pid: null });
  assert.equal(await afterAnswer, BGWH_POSTMASTER_DIED);
  await rejected;
  await assert.rejects(getBackgroundWorkerPid(HANDLE), /getpid: the postmaster is gone/);
  assert.deepEqual(await waitForBackgroundWorkerStartup(HANDLE), { status: BGWH_POSTMASTER_DIED, pid: null });
});

test("outside a worker process, a request says so", async () => {
  resetWorkerStateForTests();
  assert.throws(() => request("getpid", { handle: HANDLE }), /getpid: not inside a background worker process/);
  await assert.rejects(getBackgroundWorkerPid(HANDLE), /not inside a background worker process/);
});
