/**
 * The worker processes that exist, and the signals held for those that have
 * not reported in yet.
 *
 * A PostgreSQL worker starts with signals blocked; a runtime still booting
 * has no handlers yet, and a SIGTERM or SIGHUP would kill it outright (and,
 * with shared memory access, count as a crash). So the postmaster holds
 * them until the worker says it is up. SIGKILL is never held. Each SIGTERM
 * is announced on the channel too (`sigterm_sent`), so that a worker that
 * dropped it can tell.
 *
 * @module
 */

import type { WorkerProcess } from "../adapter.ts";
import type { SignalName } from "../signal_names.ts";

/**
 * Live worker processes and their held signals.
 *
 * @example
 * ```ts
 * import { LiveProcesses } from "./live_processes.ts";
 * import type { WorkerProcess } from "../adapter.ts";
 * const live = new LiveProcesses();
 * const child: WorkerProcess = { pid: 7, send() {}, kill() {} };
 * live.add(child);
 * live.signal(child, "SIGTERM"); // held until reportedIn(child)
 * live.reportedIn(child);        // delivered now
 * ```
 */
export class LiveProcesses {
  readonly #live = new Set<WorkerProcess>();
  readonly #booting = new Map<WorkerProcess, Set<SignalName>>();

  /** Live processes. */
  get size(): number {
    return this.#live.size;
  }

  /** A process was created; it boots until {@link reportedIn}. */
  add(process: WorkerProcess): void {
    this.#live.add(process);
    this.#booting.set(process, new Set());
  }

  /** Whether the process has not reported in yet (its signals are held). */
  isBooting(process: WorkerProcess): boolean {
    return this.#booting.has(process);
  }

  /** The process reported in: deliver what was held for it. */
  reportedIn(process: WorkerProcess): void {
    const held = this.#booting.get(process) ?? [];
    this.#booting.delete(process);
    for (const signal of held) LiveProcesses.#deliver(process, signal);
  }

  /** The process is gone; false when it was not known (its exit was handled already). */
  remove(process: WorkerProcess): boolean {
    this.#booting.delete(process);
    return this.#live.delete(process);
  }

  /** Signal a process, holding all but SIGKILL while it boots. */
  signal(process: WorkerProcess, signal: SignalName): void {
    const held = this.#booting.get(process);
    if (held && signal !== "SIGKILL") held.add(signal);
    else LiveProcesses.#deliver(process, signal);
  }

  static #deliver(process: WorkerProcess, signal: SignalName): void {
    process.kill(signal);
    // A worker leaves SIGTERM to the kernel's default action when nothing needs its listener, and a SIGTERM
    // its runtime caught just before the listener went is dropped with it: announced, it is delivered after
    // all (src/worker/sigterm_route.ts). After the signal, so that a worker the kernel ends never reads it.
    if (signal === "SIGTERM") process.send({ type: "sigterm_sent" });
  }

  /** Signal every live process. */
  signalAll(signal: SignalName): void {
    for (const process of this.#live) this.signal(process, signal);
  }
}
