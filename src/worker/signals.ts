/**
 * Signals in a worker, as PostgreSQL's `BackgroundWorkerMain` sets them up:
 * held until `backgroundWorkerUnblockSignals()`, except SIGQUIT, which
 * always exits at once with code 2.
 *
 * Defaults: SIGTERM ends the worker with PostgreSQL's `terminating
 * background worker "<type>" due to administrator command` and exit 1 (the
 * process dies of SIGTERM, by the kernel's default action once signals are
 * let through (sigterm_route.ts), and the postmaster writes the line);
 * SIGHUP, SIGINT and SIGUSR2 are ignored; SIGUSR1 sets `myLatch`.
 *
 * @module
 */

import { releaseAllLWLocks } from "../shmem/lwlock.ts";
import type { SignalName } from "../signal_names.ts";
import { elog } from "./elog.ts";
import { setLatch } from "./latch.ts";
import { endingBySigterm, sigtermAnnounced, updateSigtermRoute } from "./sigterm_route.ts";
import { endProcess, exitWorker, workerState } from "./state.ts";

/**
 * What a signal does in a worker: a function, bgworker's default for that
 * signal, or nothing.
 *
 * @example
 * ```ts
 * import { pqsignal, type SignalHandler } from "bgworker/worker";
 * const previous: SignalHandler = pqsignal("SIGINT", "ignore");
 * ```
 */
export type SignalHandler = (() => void) | "default" | "ignore";

/**
 * Signals a worker handles; the others keep the runtime's default action.
 *
 * @example
 * ```ts
 * import { HANDLED_SIGNALS } from "./signals.ts";
 * HANDLED_SIGNALS.includes("SIGHUP"); // true
 * ```
 */
export const HANDLED_SIGNALS: readonly SignalName[] = ["SIGTERM", "SIGHUP", "SIGINT", "SIGUSR1", "SIGUSR2", "SIGQUIT"];

function runDefault(signal: SignalName): void {
  const state = workerState();
  switch (signal) {
    case "SIGTERM": {
      // Die of the signal itself: give SIGTERM back to the operating system and raise it again, as C
      // programs do. The postmaster logs PostgreSQL's FATAL line for a death by SIGTERM and counts it as
      // this handler's exit 1, a millisecond sooner than logging and exiting from here would end it.
      // (Where nothing needs this handler's JavaScript, the kernel's action takes SIGTERM directly:
      // sigterm_route.ts; this path remains for a worker that holds an LWLock, or whose signals were held.)
      const port = state.port;
      if (!port) break;
      endingBySigterm();
      // PostgreSQL's die() leaves through proc_exit, which releases the worker's lightweight locks.
      releaseAllLWLocks();
      port.raise("SIGTERM");
      // Still alive on the next turn: this runtime kept its handler; end the classic way.
      port.setTimer(0, () => {
        void elog(
          "FATAL",
          `terminating background worker "${state.entry?.bgw_type ?? "unknown"}" due to administrator command`,
        );
        exitWorker(1);
      });
      break;
    }
    case "SIGQUIT":
      // PostgreSQL's quickdie: no cleanup, the postmaster treats exit 2 as a crash and reinitializes.
      if (state.port) endProcess(state.port, 2);
      break;
    case "SIGUSR1":
      setLatch(state.latch);
      break;
    default:
      break; // SIGHUP, SIGINT, SIGUSR2: ignored until the worker installs a handler
  }
}

function run(signal: SignalName): void {
  const handler = workerState().handlers.get(signal) ?? "default";
  if (handler === "ignore") return;
  if (handler === "default") return runDefault(signal);
  handler();
}

/**
 * Called by the port for every handled signal the process receives.
 *
 * @example
 * ```ts
 * import { deliverSignal } from "./signals.ts";
 * declare const port: import("./port.ts").WorkerPort;
 * port.onSignal("SIGTERM", () => deliverSignal("SIGTERM"));
 * ```
 */
export function deliverSignal(signal: SignalName): void {
  const state = workerState();
  // Counted even when held: a SIGTERM that reached the handlers is never taken for a lost one (sigterm_route.ts).
  if (signal === "SIGTERM") state.sigterm.delivered++;
  if (signal === "SIGQUIT" && (state.handlers.get("SIGQUIT") ?? "default") === "default") return runDefault(signal);
  if (state.signalsBlocked) {
    state.pendingSignals.add(signal);
    return;
  }
  run(signal);
}

/**
 * Let signals through, delivering those that came while they were held.
 *
 * @example
 * ```ts
 * import { backgroundWorkerUnblockSignals, pqsignal } from "bgworker/worker";
 * let reloadRequested = false;
 * pqsignal("SIGHUP", () => reloadRequested = true);
 * backgroundWorkerUnblockSignals();
 * ```
 */
export function backgroundWorkerUnblockSignals(): void {
  const state = workerState();
  state.signalsBlocked = false;
  const pending = [...state.pendingSignals];
  state.pendingSignals.clear();
  for (const signal of pending) run(signal);
  // After the held ones: a SIGTERM among them ended the process by its handler, or settled the route.
  updateSigtermRoute();
}

/**
 * Hold signals again until the next `backgroundWorkerUnblockSignals()`.
 *
 * @example
 * ```ts
 * import { backgroundWorkerBlockSignals, backgroundWorkerUnblockSignals } from "bgworker/worker";
 * backgroundWorkerBlockSignals();
 * // … handlers run only after this: none interrupts what happens here
 * backgroundWorkerUnblockSignals();
 * ```
 */
export function backgroundWorkerBlockSignals(): void {
  workerState().signalsBlocked = true;
  // A SIGTERM from here on must be held: the listener catches it, the kernel would end the process.
  updateSigtermRoute();
}

/**
 * The postmaster says it sent this process SIGTERM (`sigterm_sent`): if
 * the signal was dropped as the listener was removed, deliver it now
 * (see sigterm_route.ts).
 *
 * @example
 * ```ts
 * import { sigtermSentByPostmaster } from "./signals.ts";
 * declare const message: { type: string };
 * if (message.type === "sigterm_sent") sigtermSentByPostmaster();
 * ```
 */
export function sigtermSentByPostmaster(): void {
  sigtermAnnounced(() => deliverSignal("SIGTERM"));
}

/**
 * Set what a signal does, and return what it did before. `"default"` is
 * bgworker's default for that signal (see the module note), not the
 * runtime's.
 *
 * @example
 * ```ts
 * import { myLatch, pqsignal, setLatch } from "bgworker/worker";
 * let gotSighup = false;
 * pqsignal("SIGHUP", () => { gotSighup = true; setLatch(myLatch); });
 * ```
 */
export function pqsignal(signal: SignalName, handler: SignalHandler): SignalHandler {
  if (!HANDLED_SIGNALS.includes(signal)) {
    throw new RangeError(`pqsignal: ${String(signal)} cannot be handled; use one of ${HANDLED_SIGNALS.join(", ")}`);
  }
  if (typeof handler !== "function" && handler !== "default" && handler !== "ignore") {
    throw new TypeError(`pqsignal: the handler for ${signal} must be a function, "default" or "ignore"`);
  }
  const state = workerState();
  const previous = state.handlers.get(signal) ?? "default";
  state.handlers.set(signal, handler);
  // A function or "ignore" needs the listener back before this returns; "default" may leave SIGTERM to the kernel.
  if (signal === "SIGTERM") updateSigtermRoute();
  return previous;
}
