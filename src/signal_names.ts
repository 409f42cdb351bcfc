/**
 * The signals bgworker sends or handles, with the numbers and descriptions
 * PostgreSQL's log lines print (Linux numbering, as `strsignal` gives).
 *
 * @module
 */

/**
 * A signal the postmaster sends to a worker, or a worker handles.
 *
 * @example
 * ```ts
 * import type { SignalName } from "./signal_names.ts";
 * const sig: SignalName = "SIGTERM";
 * ```
 */
export type SignalName = "SIGHUP" | "SIGINT" | "SIGQUIT" | "SIGKILL" | "SIGUSR1" | "SIGUSR2" | "SIGTERM";

const SIGNALS: Record<string, readonly [number, string]> = {
  SIGHUP: [1, "Hangup"],
  SIGINT: [2, "Interrupt"],
  SIGQUIT: [3, "Quit"],
  SIGILL: [4, "Illegal instruction"],
  SIGTRAP: [5, "Trace/breakpoint trap"],
  SIGABRT: [6, "Aborted"],
  SIGBUS: [7, "Bus error"],
  SIGFPE: [8, "Floating point exception"],
  SIGKILL: [9, "Killed"],
  SIGUSR1: [10, "User defined signal 1"],
  SIGSEGV: [11, "Segmentation fault"],
  SIGUSR2: [12, "User defined signal 2"],
  SIGPIPE: [13, "Broken pipe"],
  SIGALRM: [14, "Alarm clock"],
  SIGTERM: [15, "Terminated"],
};

/**
 * Describe a signal death the way PostgreSQL's `LogChildExit` does:
 * `signal 9: Killed`.
 *
 * @example
 * ```ts
 * import { describeSignal } from "./signal_names.ts";
 * describeSignal("SIGKILL"); // "signal 9: Killed"
 * ```
 */
export function describeSignal(signal: string): string {
  // Own properties only: a name like "toString" must not find Object.prototype's.
  const known = Object.hasOwn(SIGNALS, signal) ? SIGNALS[signal] : undefined;
  return known ? `signal ${known[0]}: ${known[1]}` : `signal ${signal}`;
}
