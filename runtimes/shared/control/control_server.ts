/**
 * The control socket's server: a Unix socket (mode 0600) carrying one JSON
 * object per line each way. Bounded everywhere, so that no client can hurt
 * the postmaster: at most {@link MAX_CONNECTIONS} connections (the next is
 * told so and closed), a request line of at most 64 KiB (a longer one is
 * answered with an error and the connection closed), idle connections
 * closed after a minute, and a client that does not read its replies cut
 * off once 1 MiB waits for it.
 *
 * @module
 */

import { chmodSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import process from "node:process";
import type { ControlServer, ControlService } from "../../../src/adapter.ts";
import { MAX_CONTROL_LINE_BYTES, parseControlRequest } from "../../../src/control_protocol.ts";
import { atExit } from "../exit_callbacks.ts";
import { createLineReader } from "../line_reader.ts";
import { prepareSocketPlace } from "./socket_place.ts";
import { defaultControlSocket } from "./socket_path.ts";

/** Connections served at once. */
export const MAX_CONNECTIONS = 64;
/** A connection with nothing going on for this long is closed (one that follows the log is not idle). */
const IDLE_MS = 60_000;
/** How long the rest of an overlong request is read and dropped before the connection is cut. */
const OVERFLOW_DRAIN_MS = 5000;
/** Bytes of replies a client may leave unread before it is cut off. */
const MAX_UNREAD_BYTES = 1 << 20;

/**
 * Listen at `path` (null: the default place for this process).
 *
 * @example
 * ```ts
 * import { serveControl } from "./control_server.ts";
 * const server = await serveControl(null, (request, peer) => peer.send({ id: request.id ?? null, ok: true }));
 * await server.close();
 * ```
 */
export async function serveControl(path: string | null, serve: ControlService): Promise<ControlServer> {
  const where = path ?? defaultControlSocket(process.pid);
  await prepareSocketPlace(where, path === null);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => accept(socket, sockets, serve));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {}); // after listening, an accept error must not crash the postmaster
  chmodSync(where, 0o600);
  const cancelExit = atExit(() => rmSync(where, { force: true }));
  return {
    path: where,
    async close() {
      cancelExit();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(where, { force: true });
    },
  };
}

function accept(socket: Socket, sockets: Set<Socket>, serve: ControlService): void {
  socket.on("error", () => {});
  if (sockets.size >= MAX_CONNECTIONS) {
    socket.end(JSON.stringify({ id: null, ok: false, error: `too many connections (${MAX_CONNECTIONS})` }) + "\n");
    return;
  }
  sockets.add(socket);
  const closeListeners = new Set<() => void>();
  let following = false;
  socket.once("close", () => {
    sockets.delete(socket);
    for (const listener of closeListeners) listener();
  });
  socket.setTimeout(IDLE_MS, () => {
    if (!following) socket.destroy();
  });
  const peer = {
    send(message: unknown) {
      if (socket.destroyed) return;
      if (socket.writableLength > MAX_UNREAD_BYTES) return void socket.destroy();
      socket.write(JSON.stringify(message) + "\n");
    },
    onClose(listener: () => void) {
      following = true; // only a follower waits on the connection
      closeListeners.add(listener);
    },
  };
  const push = createLineReader(MAX_CONTROL_LINE_BYTES, {
    line: (text) => {
      const request = parseControlRequest(text);
      if ("error" in request) return peer.send({ id: request.id ?? null, ok: false, error: request.error });
      try {
        serve(request, peer);
      } catch (error) {
        peer.send({ id: request.id ?? null, ok: false, error: String((error as Error)?.message ?? error) });
      }
    },
    overflow: () => {
      peer.send({ id: null, ok: false, error: `request longer than ${MAX_CONTROL_LINE_BYTES} bytes` });
      // Half-close, and go on reading (the reader drops it all): closing with unread input would reset the
      // connection, and the client could lose the reply. A client that never stops is cut off after a while.
      socket.end();
      const cutOff = setTimeout(() => socket.destroy(), OVERFLOW_DRAIN_MS);
      socket.once("close", () => clearTimeout(cutOff));
    },
  });
  socket.on("data", (chunk: Uint8Array) => push(chunk));
}
