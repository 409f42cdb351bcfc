/**
 * Split a byte stream into newline-terminated lines, refusing any line longer
 * than a bound. The postmaster reads each worker's channel through this, not
 * through the runtime's own IPC parser: that parser throws an uncaught
 * exception on a line that is not JSON (Node), or buffers a line without end
 * until memory runs out (Node, Bun).
 *
 * @module
 */

import { Buffer } from "node:buffer";

/**
 * What a {@link createLineReader} reports.
 *
 * @example
 * ```ts
 * import type { LineReaderEvents } from "./line_reader.ts";
 * const events: LineReaderEvents = { line: (text) => console.log(text), overflow: () => console.error("too long") };
 * ```
 */
export interface LineReaderEvents {
  /** One whole line, decoded as UTF-8, without its newline. */
  line(text: string): void;
  /** A line grew past the bound; the reader ignores everything after this. */
  overflow(): void;
}

/**
 * A function to feed chunks to; it calls `events.line` for every complete
 * line and `events.overflow` once, and stops, when a line exceeds `maxBytes`.
 *
 * @example
 * ```ts
 * import { Buffer } from "node:buffer";
 * import { createLineReader } from "./line_reader.ts";
 * const push = createLineReader(1024, { line: (text) => console.log(JSON.parse(text)), overflow: () => {} });
 * push(Buffer.from('{"type":"started"}\n'));
 * ```
 */
export function createLineReader(maxBytes: number, events: LineReaderEvents): (chunk: Uint8Array) => void {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let stopped = false;
  const overflow = () => {
    stopped = true;
    pending = [];
    events.overflow();
  };
  return (chunk) => {
    if (stopped) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
      const piece = bytes.subarray(start, newline);
      if (pendingBytes + piece.length > maxBytes) return overflow();
      const whole = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      start = newline + 1;
      events.line(whole.toString("utf8"));
      if (stopped) return;
    }
    const rest = bytes.subarray(start);
    if (rest.length === 0) return;
    if (pendingBytes + rest.length > maxBytes) return overflow();
    // Copy: the runtime may reuse the chunk's memory for its next read.
    pending.push(Uint8Array.prototype.slice.call(rest));
    pendingBytes += rest.length;
  };
}
