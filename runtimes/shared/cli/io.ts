/**
 * What a command may touch besides its socket: where it writes, the clock,
 * the socket directory, and Ctrl-C. The real process gives
 * {@link processIo}; tests give their own and read what was written.
 *
 * @module
 */

import process from "node:process";
import { controlSocketDirectory } from "../control/socket_path.ts";

/**
 * A command's surroundings.
 *
 * @example
 * ```ts
 * import type { CliIo } from "./io.ts";
 * const out: string[] = [];
 * const io: CliIo = {
 *   out: (text) => out.push(text),
 *   err: (text) => out.push(text),
 *   now: () => Date.now(),
 *   directory: "/tmp/bgworker-test",
 *   onInterrupt: () => () => {},
 * };
 * ```
 */
export interface CliIo {
  /** Write to stdout (the text carries its own newlines). */
  out(text: string): void;
  /** Write to stderr. */
  err(text: string): void;
  /** Epoch milliseconds. */
  now(): number;
  /** Where to look for control sockets. */
  directory: string;
  /** Call `handler` on Ctrl-C (SIGINT) or SIGTERM; returns a function that stops listening. */
  onInterrupt(handler: () => void): () => void;
}

/**
 * The real process's stdout, stderr, clock, socket directory and signals.
 * A closed stdout (`bgworker logs -f | head`) ends the process quietly.
 *
 * @example
 * ```ts
 * import { processIo } from "./io.ts";
 * processIo().out("hello\n");
 * ```
 */
export function processIo(): CliIo {
  process.stdout.on("error", (error: { code?: string }) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    now: () => Date.now(),
    directory: controlSocketDirectory(),
    onInterrupt: (handler) => {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
  };
}
