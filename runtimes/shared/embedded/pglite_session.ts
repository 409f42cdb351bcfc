/**
 * What pglite-socket 0.2.17 needs around PGlite to serve several
 * connections from PGlite's one session as PostgreSQL serves sessions of
 * their own: each connection's extended-protocol batch kept whole, and
 * notifications delivered to the connections that listen.
 *
 * @module
 */

/**
 * The part of PGlite the socket server uses and this wraps.
 *
 * @example
 * ```ts
 * import type { ServedPGlite } from "./pglite_session.ts";
 * // A PGlite has this and more; a stand-in that runs nothing:
 * const db: ServedPGlite = { exec: () => Promise.resolve([]) };
 * ```
 */
export interface ServedPGlite {
  exec(sql: string): Promise<unknown>;
}
type RawStream = (message: Uint8Array, options: { onRawData(data: Uint8Array): void }) => Promise<unknown>;

/** Extended-protocol messages that leave a batch open until its Sync: Parse, Bind, Describe, Execute, Close, Flush. */
const OPENS_BATCH = new Set([..."PBDECH"].map((c) => c.charCodeAt(0)));
/** Messages that end a batch: Sync, a simple Query, Terminate. */
const ENDS_BATCH = new Set([..."SQX"].map((c) => c.charCodeAt(0)));
const QUERY = "Q".charCodeAt(0);
const PARSE = "P".charCodeAt(0);
const NOTIFICATION = "A".charCodeAt(0);
const LISTEN = /^\s*listen\s+(?:"((?:[^"]|"")+)"|([^\s;]+))/i;

/**
 * Wrap a PGlite for `PGLiteSocketServer`.
 *
 * - **Batches.** The server's queue takes the next protocol message from any
 *   connection unless PGlite is inside a transaction, so two connections'
 *   Parse and Bind interleave and their unnamed statements collide ("bind
 *   message supplies 2 parameters, but prepared statement "" requires 1").
 *   The queue asks `isInTransaction()` to keep to one connection: the
 *   wrapper answers yes from a batch's first message to its Sync too.
 * - **Notifications.** The session listens for every connection, so a
 *   commit's NotificationResponse comes back in the reply to the connection
 *   that committed. The wrapper takes it out of that reply and writes it to
 *   the connections that ran LISTEN on its channel, as PostgreSQL would.
 *   (UNLISTEN is not tracked: such a connection hears its channel until it
 *   disconnects.)
 *
 * @example
 * ```ts
 * import { type ServedPGlite, sharedSession } from "./pglite_session.ts";
 * declare const db: ServedPGlite; // await PGlite.create()
 * const served = sharedSession(db); // new PGLiteSocketServer({ db: served, port: 0, maxConnections: 100 })
 * ```
 */
export function sharedSession<T extends ServedPGlite>(db: T): T {
  let batchOpen = false;
  const listeners = new Map<string, Set<(data: Uint8Array) => void>>();
  const raw = db as unknown as { isInTransaction(): boolean; execProtocolRawStream: RawStream };
  const execProtocolRawStream: RawStream = (message, options) => {
    if (OPENS_BATCH.has(message[0]!)) batchOpen = true;
    else if (ENDS_BATCH.has(message[0]!)) batchOpen = false;
    const channel = listenedChannel(message);
    if (channel !== null) {
      // The connection's own reply callback writes to its socket: keep it to deliver to.
      (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(options.onRawData);
    }
    const messages = new MessageSplitter((reply) => {
      if (reply[0] !== NOTIFICATION) return options.onRawData(reply);
      for (const deliver of listeners.get(notificationChannel(reply)) ?? []) deliver(reply);
    });
    return raw.execProtocolRawStream.call(db, message, { ...options, onRawData: (data) => messages.push(data) });
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "isInTransaction") return () => batchOpen || raw.isInTransaction.call(target);
      if (property === "execProtocolRawStream") return execProtocolRawStream;
      if (property === "exec") {
        // The queue's ROLLBACK for a connection that left in the middle of a transaction or a batch.
        return (sql: string) => {
          batchOpen = false;
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The channel a Query or Parse message LISTENs on, or null. */
function listenedChannel(message: Uint8Array): string | null {
  let start: number;
  if (message[0] === QUERY) start = 5;
  else if (message[0] === PARSE) start = message.indexOf(0, 5) + 1; // after the statement's name
  else return null;
  const text = new TextDecoder().decode(message.subarray(start, message.indexOf(0, start)));
  const match = LISTEN.exec(text);
  if (!match) return null;
  return match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!.toLowerCase();
}

/** A NotificationResponse's channel: after its type, length and sender's pid. */
function notificationChannel(message: Uint8Array): string {
  return new TextDecoder().decode(message.subarray(9, message.indexOf(0, 9)));
}

/** Cuts a reply stream into whole backend messages (type byte, then a length that counts itself). */
class MessageSplitter {
  #pending = new Uint8Array(0);
  readonly #onMessage: (message: Uint8Array) => void;

  constructor(onMessage: (message: Uint8Array) => void) {
    this.#onMessage = onMessage;
  }

  push(data: Uint8Array): void {
    let buffer = data;
    if (this.#pending.length > 0) {
      buffer = new Uint8Array(this.#pending.length + data.length);
      buffer.set(this.#pending);
      buffer.set(data, this.#pending.length);
    }
    let offset = 0;
    let runStart = 0;
    // Pass runs of ordinary messages on in one piece; only notifications are taken out.
    while (buffer.length - offset >= 5) {
      const length = 1 + new DataView(buffer.buffer, buffer.byteOffset + offset + 1, 4).getInt32(0);
      if (buffer.length - offset < length) break;
      if (buffer[offset] === NOTIFICATION) {
        if (offset > runStart) this.#onMessage(buffer.subarray(runStart, offset));
        this.#onMessage(buffer.slice(offset, offset + length));
        runStart = offset + length;
      }
      offset += length;
    }
    if (offset > runStart) this.#onMessage(buffer.subarray(runStart, offset));
    this.#pending = buffer.slice(offset);
  }
}
