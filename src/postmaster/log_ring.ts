/**
 * The postmaster's last log lines, for the control socket's `logs`: a ring
 * of at most {@link MAX_LOG_LINES} lines, and followers told of each new one.
 *
 * @module
 */

import { type ControlLogLine, MAX_LOG_LINES } from "../control_protocol.ts";

/**
 * A bounded log of lines, with followers.
 *
 * @example
 * ```ts
 * import { LogRing } from "./log_ring.ts";
 * const ring = new LogRing();
 * ring.push({ at: Date.now(), level: "LOG", message: "hello", worker: null });
 * ring.last(10, null); // [that line]
 * ```
 */
export class LogRing {
  readonly #lines: ControlLogLine[] = [];
  readonly #followers = new Set<(line: ControlLogLine) => void>();

  /** Keep `line`, dropping the oldest past the bound, and tell the followers. */
  push(line: ControlLogLine): void {
    this.#lines.push(line);
    if (this.#lines.length > MAX_LOG_LINES) this.#lines.shift();
    for (const follower of this.#followers) follower(line);
  }

  /** The last `count` lines, only those of workers named `name` when it is not null. */
  last(count: number, name: string | null): ControlLogLine[] {
    const lines = name === null ? this.#lines : this.#lines.filter((line) => line.worker?.name === name);
    return count === 0 ? [] : lines.slice(-count);
  }

  /** Tell `follower` of every new line until the returned function is called. */
  follow(follower: (line: ControlLogLine) => void): () => void {
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }
}
