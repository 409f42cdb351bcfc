/**
 * What a worker's exit means, decided from facts alone: PostgreSQL's
 * `CleanupBackend`, `HandleChildCrash` and `ReportBackgroundWorkerExit`
 * reduced to a pure function, so the rules can be read in one place and
 * tested without processes.
 *
 * @module
 */

import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS } from "../constants.ts";
import type { LogLevel } from "../log_level.ts";
import { describeSignal } from "../signal_names.ts";

/**
 * Everything the policy looks at.
 *
 * @example
 * ```ts
 * import type { ExitFacts } from "./exit_policy.ts";
 * const facts: ExitFacts = {
 *   code: 1, signal: null, flags: 0, restartTime: 10, terminate: false,
 *   killedByPostmaster: false, shuttingDown: false, crashCycle: false,
 * };
 * ```
 */
export interface ExitFacts {
  /** The exit code, or null for a death by signal. */
  code: number | null;
  /** The signal that ended the process, or null. */
  signal: string | null;
  /** The worker's `bgw_flags`. */
  flags: number;
  /** The worker's `bgw_restart_time`. */
  restartTime: number;
  /** `terminateBackgroundWorker` was called for it (`rw_terminate`). */
  terminate: boolean;
  /** The postmaster killed it itself: its death is no crash. */
  killedByPostmaster: boolean;
  /** `stop()` is under way. */
  shuttingDown: boolean;
  /** A crash cycle is under way (PostgreSQL's `FatalError`). */
  crashCycle: boolean;
}

/**
 * The decision:
 *
 * - `crash`: this exit begins a crash cycle (every other worker gets SIGQUIT).
 * - `outcome`: what becomes of this worker's registration:
 *   `unregister` (forgotten, slot freed), `restart_after_interval` (after
 *   `bgw_restart_time` seconds), or `restart_after_crash_cycle` (at once when
 *   the cycle ends, as `ResetBackgroundWorkerCrashTimes` does).
 * - `log`: the line PostgreSQL's `LogChildExit` writes, and a FATAL line
 *   first for a death by SIGTERM.
 *
 * @example
 * ```ts
 * import type { ExitDecision } from "./exit_policy.ts";
 * const show = (d: ExitDecision) => `${d.crash ? "crash, " : ""}${d.outcome}`;
 * ```
 */
export interface ExitDecision {
  crash: boolean;
  outcome: "unregister" | "restart_after_interval" | "restart_after_crash_cycle";
  log: { level: LogLevel; message: string }[];
}

/**
 * Decide what an exit means. The order is PostgreSQL's: what the exit says
 * about this worker is settled first, then whether it crashes the cluster.
 * So during a crash cycle an exit 0 still unregisters, a terminated worker
 * is never restarted, and a `BGW_NEVER_RESTART` worker is forgotten.
 *
 * @example
 * ```ts
 * import { decideExit } from "./exit_policy.ts";
 * const d = decideExit({ code: 0, signal: null, flags: 1, restartTime: 1, terminate: false,
 *   killedByPostmaster: false, shuttingDown: false, crashCycle: true }, 'background worker "a" (PID 7)', "a");
 * d.outcome; // "unregister"
 * ```
 */
export function decideExit(facts: ExitFacts, who: string, type: string): ExitDecision {
  let { code, signal } = facts;
  const log: ExitDecision["log"] = [];
  if (signal === "SIGTERM") {
    // bgworker's default SIGTERM handler ends a worker by the kernel's default action: SIGTERM is left to it
    // while nothing needs the handler's JavaScript (src/worker/sigterm_route.ts), or raised again with it
    // (src/worker/signals.ts). Dying of it is PostgreSQL's FATAL line and exit 1, as after die().
    log.push({ level: "FATAL", message: `terminating background worker "${type}" due to administrator command` });
    code = 1;
    signal = null;
  }
  if (signal !== null || code === null) {
    log.push({ level: "LOG", message: `${who} was terminated by ${describeSignal(signal ?? "unknown")}` });
  } else {
    log.push({ level: code === 0 ? "DEBUG1" : "LOG", message: `${who} exited with exit code ${code}` });
  }
  if (facts.shuttingDown) return { crash: false, outcome: "unregister", log };

  const abnormal = signal !== null || code === null || (code !== 0 && code !== 1);
  // Without shared memory access a worker cannot have corrupted anything: such an exit counts as exit 1.
  const crash = abnormal && !facts.killedByPostmaster && !facts.crashCycle &&
    (facts.flags & BGWORKER_SHMEM_ACCESS) !== 0;
  // Exit 0 means "done" (PostgreSQL sets rw_terminate), whatever else is going on.
  const done = !abnormal && code === 0;
  if (done || facts.terminate || facts.restartTime === BGW_NEVER_RESTART) return { crash, outcome: "unregister", log };
  return { crash, outcome: crash || facts.crashCycle ? "restart_after_crash_cycle" : "restart_after_interval", log };
}
