/**
 * The worker's end of a socket channel (see socket_launch.ts): instead of
 * an IPC descriptor it inherits, the worker connects to its postmaster's
 * Unix domain socket, whose path and a one-time token are in its
 * environment, says the token on the first line, and from then on carries
 * the same newline-separated JSON that Node's IPC channel carries in its
 * "json" mode, so the postmaster's reader is the same for both.
 *
 * @module
 */

import { connect, type Socket } from "node:net";
import process from "node:process";

/**
 * The worker's environment names the postmaster's channel socket here (and
 * its token in CHANNEL_TOKEN_VARIABLE); without it, the channel is the
 * runtime's IPC channel.
 *
 * @example
 * ```ts
 * import { CHANNEL_SOCKET_VARIABLE } from "./socket_channel.ts";
 * const overSocket = process.env[CHANNEL_SOCKET_VARIABLE] !== undefined;
 * ```
 */
export const CHANNEL_SOCKET_VARIABLE = "BGWORKER_CHANNEL_SOCKET";

/**
 * The one-time token the worker says first on its socket channel.
 *
 * @example
 * ```ts
 * import { CHANNEL_TOKEN_VARIABLE } from "./socket_channel.ts";
 * const env = { [CHANNEL_TOKEN_VARIABLE]: "0123456789abcdef0123456789abcdef" };
 * ```
 */
export const CHANNEL_TOKEN_VARIABLE = "BGWORKER_CHANNEL_TOKEN";

/**
 * The title the worker gives itself as it boots, where its command line's
 * first word could not be the title (it was `setsid`'s; see socket_launch.ts).
 *
 * @example
 * ```ts
 * import { TITLE_VARIABLE } from "./socket_channel.ts";
 * const env = { [TITLE_VARIABLE]: "bgworker: spare" };
 * ```
 */
export const TITLE_VARIABLE = "BGWORKER_TITLE";

/**
 * A worker's channel to its postmaster, as worker_port.ts uses it: the IPC
 * channel (`node:process`) and the socket channel alike.
 *
 * @example
 * ```ts
 * import type { WorkerChannel } from "./socket_channel.ts";
 * declare const channel: WorkerChannel;
 * channel.send({ type: "ready" }, () => {});
 * ```
 */
export interface WorkerChannel {
  /** Whether messages can still be sent. */
  connected(): boolean;
  /** Send one message; `done` runs once it is written out, or once it never will be (the channel closed). */
  send(message: unknown, done: () => void): void;
  /** Every message from the postmaster. */
  onMessage(listener: (message: unknown) => void): void;
  /** Once, when the channel closes (or could never open): the postmaster is gone. */
  onDisconnect(listener: () => void): void;
}

let current: Socket | null = null;

/**
 * This worker's channel socket, once connected from the environment; null
 * on an IPC channel. For tests that write on the channel what no port
 * would send (bytes that are not JSON).
 *
 * @example
 * ```ts
 * import { channelSocket } from "./socket_channel.ts";
 * channelSocket()?.write("not json\n");
 * ```
 */
export function channelSocket(): Socket | null {
  return current;
}

/**
 * Read a variable and remove it from the environment, so that what the
 * worker spawns does not inherit it (a token serves once).
 *
 * @example
 * ```ts
 * import { takeVariable, TITLE_VARIABLE } from "./socket_channel.ts";
 * const title = takeVariable(TITLE_VARIABLE);
 * ```
 */
export function takeVariable(name: string): string | undefined {
  const value = process.env[name];
  try {
    delete process.env[name];
  } catch {
    // Deno without the env permission: it stays, harmless.
  }
  return value;
}

/**
 * The socket channel that the environment names, connected (or connecting),
 * or null when the environment names none. The variables leave the
 * environment.
 *
 * @example
 * ```ts
 * import { socketChannelFromEnvironment } from "./socket_channel.ts";
 * const channel = socketChannelFromEnvironment();
 * ```
 */
export function socketChannelFromEnvironment(): WorkerChannel | null {
  const path = takeVariable(CHANNEL_SOCKET_VARIABLE);
  const token = takeVariable(CHANNEL_TOKEN_VARIABLE);
  if (!path || !token) return null;
  return connectSocketChannel(path, token);
}

function connectSocketChannel(path: string, token: string): WorkerChannel {
  const socket = connect(path);
  current = socket;
  let open = true;
  const messageListeners: ((message: unknown) => void)[] = [];
  const disconnectListeners: (() => void)[] = [];
  const unfinished = new Set<() => void>();
  // Written before the connection completes: the socket holds it until then.
  socket.write(token + "\n");
  socket.on("error", () => {}); // the close that follows says all (ENOENT, ECONNREFUSED: the postmaster is gone)
  socket.on("close", () => {
    if (!open) return;
    open = false;
    // Sends that will never be written are done: the worker's exit waits for them (worker_port.ts).
    for (const done of [...unfinished]) done();
    for (const listener of disconnectListeners.splice(0)) listener();
  });
  let partial = "";
  socket.setEncoding("utf8");
  socket.on("data", (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        continue; // the postmaster writes JSON only; nothing else is a message
      }
      for (const listener of messageListeners) listener(message);
    }
  });
  return {
    connected: () => open,
    send(message, done) {
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        unfinished.delete(once);
        done();
      };
      if (!open) return once();
      unfinished.add(once);
      try {
        socket.write(JSON.stringify(message) + "\n", once);
      } catch {
        once();
      }
    },
    onMessage: (listener) => void messageListeners.push(listener),
    onDisconnect(listener) {
      if (open) disconnectListeners.push(listener);
      else setTimeout(listener, 0);
    },
  };
}
