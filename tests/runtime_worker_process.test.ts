/** The worker process put together from the spawn's pieces (runtimes/shared/worker_process.ts), with in-memory streams. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeChannel } from "./helpers/fake_channel.ts";
import { assembleWorkerProcess } from "../runtimes/shared/worker_process.ts";

function recorder() {
  const seen: unknown[] = [];
  return {
    seen,
    events: {
      message: (m: unknown) => seen.push(["message", m]),
      protocolError: (why: string) => seen.push(["protocolError", why]),
      exit: (code: number | null, signal: string | null) => seen.push(["exit", code, signal]),
    },
  };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

test("worker process: messages sent before the channel comes wait, in order, and the pid is 0 until known", async () => {
  const { events } = recorder();
  const parts = assembleWorkerProcess(events);
  assert.equal(parts.worker.pid, 0);
  parts.worker.send({ n: 1 });
  parts.worker.send({ n: 2 });
  const { channel, written } = fakeChannel();
  // A pid of no process group: the signals of spawned() must find nothing to signal.
  parts.spawned(2 ** 22 + 12345, channel);
  parts.worker.send({ n: 3 });
  await turn();
  assert.equal(parts.worker.pid, 2 ** 22 + 12345);
  assert.deepEqual(written, ['{"n":1}\n', '{"n":2}\n', '{"n":3}\n']);
  parts.exited(0, null);
});

test("worker process: every message comes before the one exit, which waits for the channel to close", async () => {
  const { seen, events } = recorder();
  const parts = assembleWorkerProcess(events);
  const { channel } = fakeChannel();
  parts.spawned(2 ** 22 + 12346, channel);
  channel.push('{"type":"a"}\n');
  await turn();
  parts.exited(1, null);
  channel.push('{"type":"b"}\n');
  await turn();
  assert.deepEqual(seen, [["message", { type: "a" }], ["message", { type: "b" }]], "the exit waits for the close");
  channel.destroy();
  await turn();
  assert.deepEqual(seen.at(-1), ["exit", 1, null]);
  parts.exited(1, null);
  assert.equal(seen.filter((e) => (e as unknown[])[0] === "exit").length, 1, "one exit only");
});

test("worker process: an exit before any channel (a failed spawn) is told at once, and later sends are dropped", () => {
  const { seen, events } = recorder();
  const parts = assembleWorkerProcess(events);
  parts.exited(1, null);
  parts.worker.send({ late: true });
  assert.deepEqual(seen, [["exit", 1, null]]);
});

test("worker process: garbage on the channel is a protocol error, then the exit is told once the process is gone", async () => {
  const { seen, events } = recorder();
  const parts = assembleWorkerProcess(events);
  const { channel } = fakeChannel();
  parts.spawned(2 ** 22 + 12347, channel);
  channel.push("not json\n");
  await turn();
  assert.deepEqual(seen[0], ["protocolError", 'sent "not json", which is not a JSON message']);
  parts.exited(null, "SIGKILL");
  assert.deepEqual(seen.at(-1), ["exit", null, "SIGKILL"]);
});
