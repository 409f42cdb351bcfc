/**
 * Socket channels (runtimes/shared/channel_listener.ts, socket_channel.ts,
 * and the late channel of worker_process.ts): real Unix domain sockets in
 * this process, on every runtime.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname } from "node:path";
import process from "node:process";
import { Duplex } from "node:stream";
import { test } from "node:test";
import { fakeChannel } from "./helpers/fake_channel.ts";
import { type ChannelArrival, channelListener } from "../runtimes/shared/channel_listener.ts";
import {
  CHANNEL_SOCKET_VARIABLE,
  CHANNEL_TOKEN_VARIABLE,
  socketChannelFromEnvironment,
} from "../runtimes/shared/socket_channel.ts";
import { assembleWorkerProcess } from "../runtimes/shared/worker_process.ts";

/** A promise that `arm` settles, or that fails after `ms` saying what it waited for. */
function within<T>(what: string, arm: (resolve: (value: T) => void) => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    arm((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A connection's close, seen from the connecting side. */
const closed = (socket: Socket) =>
  within<void>("the connection to close", (resolve) => socket.once("close", () => resolve()));

/** A connection to the listener that sends `first`, and the arrival it causes (if any). */
function connectWith(path: string, first: string): Socket {
  const socket = connect(path);
  socket.on("error", () => {});
  socket.write(first);
  return socket;
}

const listener = channelListener();

test("socket channel: the listener's directory is the user's alone", () => {
  assert.ok(listener, "a listener (the tests have every permission, and a temporary directory)");
  const mode = statSync(dirname(listener!.path)).mode & 0o777;
  assert.equal(mode, 0o700);
  assert.ok(statSync(listener!.path).isSocket());
});

test("socket channel: the connection that says its token is handed over, with what followed the token", async () => {
  let arrived: ChannelArrival = () => {};
  const arrival = within<{ socket: Socket; head: string }>("the arrival", (resolve) => {
    arrived = (socket, head) => resolve({ socket, head: new TextDecoder().decode(head) });
  });
  const token = listener!.expect((socket, head) => arrived(socket, head));
  const client = connectWith(listener!.path, `${token}\n{"type":"ready"}\n`);
  const { socket, head } = await arrival;
  // The rest may come in a second read: the handover is what matters, and the head is the line's beginning.
  assert.ok('{"type":"ready"}\n'.startsWith(head), JSON.stringify(head));
  socket.destroy();
  await closed(client);
});

test("socket channel: a wrong token, an endless first line and a token said a second time are refused", async () => {
  const heard: string[] = [];
  const token = listener!.expect(() => heard.push("first"));
  await closed(connectWith(listener!.path, "0123456789abcdef0123456789abcdef\n"));
  await closed(connectWith(listener!.path, "x".repeat(200)));
  const first = connectWith(listener!.path, `${token}\n`);
  await within<void>("the first arrival", (resolve) => {
    const check = () => (heard.length > 0 ? resolve() : setTimeout(check, 5));
    check();
  });
  await closed(connectWith(listener!.path, `${token}\n`));
  assert.deepEqual(heard, ["first"], "each token serves once");
  first.destroy();
  const forgotten = listener!.expect(() => heard.push("forgotten"));
  listener!.forget(forgotten);
  await closed(connectWith(listener!.path, `${forgotten}\n`));
  assert.deepEqual(heard, ["first"]);
});

test("socket channel: the worker's end and the postmaster's carry messages both ways; the close is the disconnect", async () => {
  const parts = assembleWorkerProcess({
    message: (message) => fromWorker.push(message),
    protocolError: (reason) => assert.fail(reason),
    exit: () => {},
  });
  const fromWorker: unknown[] = [];
  let postmasterEnd: Duplex | null = null;
  const token = listener!.expect((socket, head) => {
    postmasterEnd = socket;
    parts.connected(socket, head);
  });
  // A pid of no process: nothing here signals it.
  parts.spawned(2 ** 22 + 23456, null);
  parts.worker.send({ type: "start", n: 1 });
  process.env[CHANNEL_SOCKET_VARIABLE] = listener!.path;
  process.env[CHANNEL_TOKEN_VARIABLE] = token;
  const channel = socketChannelFromEnvironment()!;
  assert.equal(process.env[CHANNEL_TOKEN_VARIABLE], undefined, "the token leaves the environment");
  assert.equal(process.env[CHANNEL_SOCKET_VARIABLE], undefined);
  const toWorker: unknown[] = [];
  channel.onMessage((message) => toWorker.push(message));
  const disconnected = within<void>("the disconnect", (resolve) => channel.onDisconnect(resolve));
  await within<void>("the send to be written", (resolve) => channel.send({ type: "ready" }, resolve));
  await within<void>("both messages", (resolve) => {
    const check = () => (fromWorker.length > 0 && toWorker.length > 0 ? resolve() : setTimeout(check, 5));
    check();
  });
  assert.deepEqual(fromWorker, [{ type: "ready" }]);
  assert.deepEqual(toWorker, [{ type: "start", n: 1 }]);
  (postmasterEnd as Duplex | null)!.destroy();
  await disconnected;
  assert.equal(channel.connected(), false);
  await within<void>("a send after the close to be done", (resolve) => channel.send({ type: "late" }, resolve));
  parts.exited(0, null);
});

test("socket channel: a worker whose postmaster is gone (nothing listens) disconnects at once", async () => {
  process.env[CHANNEL_SOCKET_VARIABLE] = `${dirname(listener!.path)}/nothing-here`;
  process.env[CHANNEL_TOKEN_VARIABLE] = "0123456789abcdef0123456789abcdef";
  const channel = socketChannelFromEnvironment()!;
  const done = within<void>("the pending send to be done", (resolve) => channel.send({ type: "ready" }, resolve));
  await within<void>("the disconnect", (resolve) => channel.onDisconnect(resolve));
  await done;
});

test("worker process: an exit before the late channel waits for it, and its messages come before the exit", async () => {
  const seen: unknown[] = [];
  const parts = assembleWorkerProcess({
    message: (m) => seen.push(["message", m]),
    protocolError: (why) => seen.push(["protocolError", why]),
    exit: (code, signal) => seen.push(["exit", code, signal]),
  });
  parts.spawned(2 ** 22 + 23457, null);
  parts.worker.send({ type: "start" });
  parts.exited(0, null);
  assert.deepEqual(seen, [], "no exit before the channel that may still be waiting to be accepted");
  const { channel, written } = fakeChannel();
  parts.connected(channel, new TextEncoder().encode('{"type":"ready"}\n{"type":"sta'));
  channel.push('rted"}\n');
  channel.push(null);
  await within<void>("the exit", (resolve) => {
    const check = () => (seen.some((e) => (e as unknown[])[0] === "exit") ? resolve() : setTimeout(check, 5));
    check();
  });
  assert.deepEqual(seen, [
    ["message", { type: "ready" }],
    ["message", { type: "started" }],
    ["exit", 0, null],
  ]);
  assert.deepEqual(written, ['{"type":"start"}\n'], "what waited for the channel was written to it");
});

test("worker process: without a channel, the exit is told after the drain, and a channel after that is closed", async () => {
  const seen: unknown[] = [];
  const parts = assembleWorkerProcess({
    message: (m) => seen.push(["message", m]),
    protocolError: () => {},
    exit: (code, signal) => seen.push(["exit", code, signal]),
  });
  parts.spawned(2 ** 22 + 23458, null);
  parts.exited(null, "SIGKILL");
  await within<void>("the exit", (resolve) => {
    const check = () => (seen.length > 0 ? resolve() : setTimeout(check, 5));
    check();
  });
  assert.deepEqual(seen, [["exit", null, "SIGKILL"]]);
  const { channel } = fakeChannel();
  parts.connected(channel, new TextEncoder().encode('{"type":"ready"}\n'));
  assert.equal(channel.destroyed, true);
  assert.deepEqual(seen, [["exit", null, "SIGKILL"]]);
});
