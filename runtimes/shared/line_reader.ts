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
  /** One whole line, decoded as UTF-8 (malformed bytes become U+FFFD), without its newline; `cut` when it was longer than the bound. */
  line(text: string, cut: boolean): void;
  /** A line grew past the bound: in "stop" mode the reader ignores everything after this. */
  overflow(): void;
}

/**
 * A function to feed chunks to; it calls `events.line` for every complete
 * line. A line longer than `maxBytes` either stops the reader (`"stop"`, for
 * a channel: `events.overflow`, once) or is cut there, the rest of it
 * dropped (`"cut"`, for a worker's output). `end()` hands over a last line
 * that had no newline.
 *
 * @example
 * ```ts
 * import { Buffer } from "node:buffer";
 * import { createLineReader } from "./line_reader.ts";
 * const push = createLineReader(1024, { line: (text) => console.log(JSON.parse(text)), overflow: () => {} });
 * push(Buffer.from('{"type":"started"}\n'));
 * push.end();
 * ```
 */
export function createLineReader(
  maxBytes: number,
  events: LineReaderEvents,
  mode: "stop" | "cut" = "stop",
): ((chunk: Uint8Array) => void) & { end(): void } {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let stopped = false;
  /** In "cut" mode, the rest of a line that was cut is being dropped, up to its newline. */
  let skipping = false;
  const emit = (parts: Uint8Array[], cut: boolean) => {
    const whole = parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
    pending = [];
    pendingBytes = 0;
    events.line((cut ? whole.subarray(0, maxBytes) : whole).toString("utf8"), cut);
  };
  const tooLong = (parts: Uint8Array[]) => {
    if (mode === "stop") {
      stopped = true;
      pending = [];
      events.overflow();
      return;
    }
    emit(parts, true);
    skipping = true;
  };
  const push = (chunk: Uint8Array) => {
    if (stopped) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let newline = bytes.indexOf(10); newline !== -1; newline = bytes.indexOf(10, start)) {
      const piece = bytes.subarray(start, newline);
      start = newline + 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      if (pendingBytes + piece.length > maxBytes) {
        tooLong([...pending, piece]);
        skipping = false; // this line ended here
        if (stopped) return;
        continue;
      }
      emit(pendingBytes === 0 ? [piece] : [...pending, piece], false);
      if (stopped) return;
    }
    const rest = bytes.subarray(start);
    if (rest.length === 0 || skipping) return;
    if (pendingBytes + rest.length > maxBytes) return tooLong([...pending, rest]);
    // Copy: the runtime may reuse the chunk's memory for its next read.
    pending.push(Uint8Array.prototype.slice.call(rest));
    pendingBytes += rest.length;
  };
  return Object.assign(push, {
    end() {
      if (!stopped && !skipping && pendingBytes > 0) emit(pending, false);
    },
  });
}
