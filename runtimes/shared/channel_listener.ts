/**
 * The postmaster's end of workers' socket channels (socket_launch.ts): one
 * Unix domain socket per postmaster process, in a directory of its own that
 * only the user can enter (mkdtemp makes it 0700), shared by every
 * postmaster in the process. A worker connects to it and says, on the first
 * line, the one-time token it was given in its environment; the connection
 * becomes that worker's channel. A connection that says no expected token
 * (another process of the same user, or a worker whose exit was already
 * told) is closed: nobody can pretend to be a worker without its token, and
 * a token serves once.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { atExit } from "./exit_callbacks.ts";
import { processExists } from "./process_exists.ts";

/** The bytes of the first line a connection may send, its newline included: the token is 32 hex digits. */
const MAX_HANDSHAKE_BYTES = 64;

/** Milliseconds a connection may take to say its token before it is closed: a worker says it at once. */
const HANDSHAKE_MS = 10_000;

/** The directories' names: the pid tells a stale one (its postmaster is gone) from a live one. */
const DIRECTORY_PREFIX = "bgworker-channels-";

/**
 * What a worker's channel is waiting for: called once, with the connection
 * and what it already sent past its token line.
 *
 * @example
 * ```ts
 * import type { ChannelArrival } from "./channel_listener.ts";
 * const arrival: ChannelArrival = (socket, head) => socket.write(`got ${head.length} bytes\n`);
 * ```
 */
export type ChannelArrival = (socket: Socket, head: Uint8Array) => void;

/**
 * The listening socket and the tokens it waits for.
 *
 * @example
 * ```ts
 * import { channelListener } from "./channel_listener.ts";
 * const listener = channelListener();
 * if (listener) {
 *   const token = listener.expect((socket) => socket.end());
 *   listener.forget(token);
 * }
 * ```
 */
export interface ChannelListener {
  /** The socket's path, for the worker's environment. */
  readonly path: string;
  /** A new token, and what to do with the connection that says it. */
  expect(arrival: ChannelArrival): string;
  /** The token's worker will not connect (it exited): a connection saying it now is refused. */
  forget(token: string): void;
}

let shared: ChannelListener | null | undefined;

/**
 * The process's listener, made on first use; null when none can be made
 * (no writable temporary directory, or a runtime not allowed to listen
 * there): the caller then spawns as it did without one.
 *
 * @example
 * ```ts
 * import { channelListener } from "./channel_listener.ts";
 * console.log(channelListener()?.path ?? "no socket channels here");
 * ```
 */
export function channelListener(): ChannelListener | null {
  if (shared === undefined) shared = openListener();
  return shared;
}

function openListener(): ChannelListener | null {
  let dir: string;
  try {
    sweepStaleDirectories();
    dir = mkdtempSync(join(tmpdir(), `${DIRECTORY_PREFIX}${process.pid}-`));
  } catch {
    return null;
  }
  const path = join(dir, "s");
  const expected = new Map<string, ChannelArrival>();
  const server: Server = createServer((socket) => handshake(socket, expected));
  // After a successful listen, an error can only be the server's end: workers' connects then fail, and they
  // leave as orphans do; nothing here to crash the postmaster for.
  server.on("error", () => {});
  try {
    // Binds and listens before it returns (Node and Deno alike): a worker spawned next finds the socket.
    server.listen(path);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  // The listener never keeps the application alive: each worker's process and channel do, while it runs.
  server.unref();
  atExit(() => rmSync(dir, { recursive: true, force: true }));
  return {
    path,
    expect(arrival) {
      const token = randomBytes(16).toString("hex");
      expected.set(token, arrival);
      return token;
    },
    forget: (token) => void expected.delete(token),
  };
}

/** Read the token line, then hand the connection (and what followed the line) to whoever expects that token. */
function handshake(socket: Socket, expected: Map<string, ChannelArrival>): void {
  let read = new Uint8Array(0);
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_MS);
  timer.unref?.();
  socket.on("error", () => {});
  const onData = (chunk: Uint8Array) => {
    const joined = new Uint8Array(read.length + chunk.length);
    joined.set(read);
    joined.set(chunk, read.length);
    read = joined;
    const newline = read.indexOf(10);
    if (newline === -1) {
      if (read.length >= MAX_HANDSHAKE_BYTES) finish(null);
      return;
    }
    if (newline >= MAX_HANDSHAKE_BYTES) return finish(null);
    const token = new TextDecoder().decode(read.subarray(0, newline));
    const arrival = expected.get(token) ?? null;
    expected.delete(token);
    finish(arrival, read.subarray(newline + 1));
  };
  const finish = (arrival: ChannelArrival | null, head = new Uint8Array(0)) => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    if (!arrival) return void socket.destroy();
    arrival(socket, head);
  };
  const onClose = () => clearTimeout(timer);
  socket.on("data", onData);
  socket.on("close", onClose);
}

/** Remove the directories of postmaster processes that are gone (killed: they could not remove their own). */
function sweepStaleDirectories(): void {
  const base = tmpdir();
  const uid = process.getuid?.();
  for (const name of readdirSync(base)) {
    if (!name.startsWith(DIRECTORY_PREFIX)) continue;
    const pid = Number(name.slice(DIRECTORY_PREFIX.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
    const path = join(base, name);
    try {
      const stat = lstatSync(path);
      if (stat.isDirectory() && (uid === undefined || stat.uid === uid)) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
}
