/**
 * Work for the process's normal exit, shared by every postmaster in it and
 * by their control sockets: one "exit" listener however many there are.
 *
 * @module
 */

import process from "node:process";

/** Work for the process's exit, shared by every postmaster in it: one "exit" listener however many there are. */
const exitCallbacks = new Set<() => void>();

/**
 * Run `callback` (synchronously) when the process exits normally; returns a
 * function that cancels it.
 *
 * @example
 * ```ts
 * import { atExit } from "./exit_callbacks.ts";
 * const cancel = atExit(() => console.log("bye"));
 * cancel();
 * ```
 */
export function atExit(callback: () => void): () => void {
  if (exitCallbacks.size === 0) process.on("exit", runExitCallbacks);
  exitCallbacks.add(callback);
  return () => {
    exitCallbacks.delete(callback);
    if (exitCallbacks.size === 0) process.off("exit", runExitCallbacks);
  };
}

function runExitCallbacks(): void {
  for (const callback of exitCallbacks) {
    try {
      callback();
    } catch {
      // Exiting: nothing to report to.
    }
  }
}
