/**
 * A connection to a postmaster's control socket: connect with a timeout,
 * send one request, read reply lines. Every way it can fail becomes a
 * {@link CliError} that says what happened at which path, in words a person
 * at a terminal can act on.
 *
 * @module
 */

import { statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { basename } from "node:path";
import type { ControlRequest } from "../../../src/control_protocol.ts";
import { createLineReader } from "../line_reader.ts";
import { processExists } from "../process_exists.ts";
import { pidOfControlSocket } from "../control/socket_path.ts";
import { CliError, EXIT_FAILED, EXIT_UNREACHABLE } from "./errors.ts";

/** The longest reply line the client reads: the protocol's 64 KiB, with room for a large `ps` or `metrics`. */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** One reply object, as it came. */
export type ReplyObject = Record<string, unknown>;

/**
 * An open connection: {@link ControlConnection.open}, `send`, `next` until
 * null, `close`.
 *
 * @example
 * ```ts
 * import { ControlConnection } from "./client.ts";
 * const connection = await ControlConnection.open("/run/user/1000/bgworker/4242.sock", 5000);
 * connection.send({ id: 1, op: "ps" });
 * console.log(await connection.next(5000));
 * connection.close();
 * ```
 */
export class ControlConnection {
  /** The socket's path, for messages. */
  readonly path: string;
  #socket: Socket;
  #queue: ReplyObject[] = [];
  #ended = false;
  #failure: CliError | null = null;
  #wake: (() => void) | null = null;

  private constructor(path: string, socket: Socket) {
    this.path = path;
    this.#socket = socket;
    const push = createLineReader(MAX_REPLY_BYTES, {
      line: (text) => {
        try {
          const value: unknown = JSON.parse(text);
          if (typeof value === "object" && value !== null && !Array.isArray(value)) {
            this.#queue.push(value as ReplyObject);
          } else this.#fail(`the postmaster at ${path} sent a line that is not a JSON object`);
        } catch {
          this.#fail(`the postmaster at ${path} sent a line that is not JSON: ${text.slice(0, 80)}`);
        }
        this.#notify();
      },
      overflow: () => this.#fail(`the postmaster at ${path} sent a line over ${MAX_REPLY_BYTES} bytes`),
    });
    socket.on("data", (chunk: Uint8Array) => push(chunk));
    socket.on("end", () => {
      push.end();
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error) => {
      // A reset is the postmaster closing on us (stopping, or dropping a client it refused): the end, not a fault.
      const code = (error as { code?: string }).code;
      if (code === "ECONNRESET" || code === "EPIPE") {
        this.#ended = true;
        this.#notify();
      } else this.#fail(`connection to ${path} failed: ${(error as Error).message}`);
    });
  }

  /**
   * Connect, or throw a {@link CliError} with {@link EXIT_UNREACHABLE}
   * that says why not (no socket, permission denied, stale socket, no
   * answer within `timeoutMs`).
   *
   * @example
   * ```ts
   * import { ControlConnection } from "./client.ts";
   * const connection = await ControlConnection.open("/tmp/bgworker-1000/4242.sock", 2000);
   * connection.close();
   * ```
   */
  static open(path: string, timeoutMs: number): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new CliError(`no postmaster answers at ${path}: no connection within ${timeoutMs} ms`, EXIT_UNREACHABLE),
        );
      }, timeoutMs);
      socket.once("error", (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(connectError(path, error));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new ControlConnection(path, socket));
      });
    });
  }

  /**
   * Send one request line.
   *
   * @example
   * ```ts
   * import { ControlConnection } from "./client.ts";
   * const connection = await ControlConnection.open("/tmp/bgworker-1000/4242.sock", 2000);
   * connection.send({ id: 1, op: "reload" });
   * ```
   */
  send(request: ControlRequest): void {
    this.#socket.write(JSON.stringify(request) + "\n");
  }

  /**
   * The next reply object; null when the postmaster closed the connection.
   * Throws a {@link CliError} when nothing came within `timeoutMs`
   * (Infinity waits for ever) or the line was not a JSON object.
   *
   * @example
   * ```ts
   * import { ControlConnection } from "./client.ts";
   * const connection = await ControlConnection.open("/tmp/bgworker-1000/4242.sock", 2000);
   * connection.send({ id: 1, op: "metrics" });
   * const reply = await connection.next(2000);
   * ```
   */
  async next(timeoutMs: number): Promise<ReplyObject | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    try {
      while (this.#queue.length === 0 && !this.#ended && !this.#failure && !timedOut) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (timer === undefined && Number.isFinite(timeoutMs)) {
            timer = setTimeout(() => {
              timedOut = true;
              resolve();
            }, timeoutMs);
          }
        });
      }
    } finally {
      clearTimeout(timer);
      this.#wake = null;
    }
    const reply = this.#queue.shift();
    if (reply) return reply;
    if (this.#failure) throw this.#failure;
    if (timedOut) {
      throw new CliError(`no postmaster answers at ${this.path}: no reply within ${timeoutMs} ms`, EXIT_UNREACHABLE);
    }
    return null;
  }

  /**
   * Close the connection (a `logs --follow` ends this way).
   *
   * @example
   * ```ts
   * import { ControlConnection } from "./client.ts";
   * (await ControlConnection.open("/tmp/bgworker-1000/4242.sock", 2000)).close();
   * ```
   */
  close(): void {
    this.#socket.destroy();
  }

  #fail(message: string): void {
    this.#failure ??= new CliError(message, EXIT_UNREACHABLE);
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/**
 * Send one request and return its `ok` reply. A reply with `ok: false`
 * throws a {@link CliError} with {@link EXIT_FAILED} carrying the
 * postmaster's error; a closed or silent connection one with
 * {@link EXIT_UNREACHABLE}.
 *
 * @example
 * ```ts
 * import { requestOnce } from "./client.ts";
 * const reply = await requestOnce("/run/user/1000/bgworker/4242.sock", { op: "ps" }, 5000);
 * console.log(reply.workers);
 * ```
 */
export async function requestOnce(path: string, request: ControlRequest, timeoutMs: number): Promise<ReplyObject> {
  const connection = await ControlConnection.open(path, timeoutMs);
  try {
    connection.send({ ...request, id: 1 });
    return checkReply(path, await connection.next(timeoutMs));
  } finally {
    connection.close();
  }
}

/**
 * The reply, when it is `ok`; otherwise the {@link CliError} it means.
 *
 * @example
 * ```ts
 * import { checkReply } from "./client.ts";
 * checkReply("/tmp/x.sock", { id: 1, ok: true, text: "" }); // { id: 1, ok: true, text: "" }
 * ```
 */
export function checkReply(path: string, reply: ReplyObject | null): ReplyObject {
  if (reply === null) {
    throw new CliError(`no postmaster answers at ${path}: it closed the connection without a reply`, EXIT_UNREACHABLE);
  }
  if (reply.ok === true) return reply;
  const error = typeof reply.error === "string" ? reply.error : JSON.stringify(reply).slice(0, 200);
  throw new CliError(`the postmaster at ${path} refused: ${error}`, EXIT_FAILED);
}

/**
 * The {@link CliError} a failed connect means, by the system's error code.
 *
 * @example
 * ```ts
 * import { connectError } from "./client.ts";
 * const error = connectError("/tmp/bgworker-1000/4242.sock", Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
 * console.log(error.message); // "no postmaster answers at …: stale socket, the postmaster that made it (pid 4242) is gone"
 * ```
 */
export function connectError(path: string, error: unknown): CliError {
  const code = (error as { code?: unknown })?.code;
  const pid = pidOfControlSocket(basename(path));
  const options = { cause: error };
  switch (code) {
    case "ENOENT":
      return new CliError(`no postmaster found: no control socket at ${path}`, EXIT_UNREACHABLE, options);
    case "EACCES":
    case "EPERM":
      return new CliError(
        `no postmaster answers at ${path}: permission denied; control sockets are private to the user who started the postmaster, so run bgworker as that user`,
        EXIT_UNREACHABLE,
        options,
      );
    case "ECONNREFUSED":
      if (!isSocket(path)) return new CliError(`${path} is not a socket`, EXIT_UNREACHABLE, options);
      return new CliError(
        pid !== null && !processExists(pid)
          ? `no postmaster answers at ${path}: stale socket, the postmaster that made it (pid ${pid}) is gone`
          : `no postmaster answers at ${path}: stale socket, nothing listens on it (the postmaster that made it is gone${
            pid !== null ? `; pid ${pid} is now another process, or is not answering` : ""
          })`,
        EXIT_UNREACHABLE,
        options,
      );
    case "ENOTSOCK":
      return new CliError(`${path} is not a socket`, EXIT_UNREACHABLE, options);
    default:
      return new CliError(
        `cannot connect to ${path}: ${(error as Error)?.message ?? String(error)}`,
        EXIT_UNREACHABLE,
        options,
      );
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return true; // unknown: let the refusal speak
  }
}
