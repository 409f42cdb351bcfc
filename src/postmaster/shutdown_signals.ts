/**
 * The postmaster's own process signals (option `handleSignals`, default
 * true): SIGTERM and SIGINT ask for a fast stop, SIGQUIT for an immediate
 * one, and a second SIGTERM or SIGINT during a fast stop escalates to
 * immediate. PostgreSQL's postmaster takes these signals as shutdown
 * requests too, with one difference: its SIGTERM is a smart shutdown, which
 * waits for every worker to finish on its own; here it is fast, because
 * whoever sends SIGTERM to an application (a container runtime, systemd, a
 * shell's `kill`) sends SIGKILL after a grace period.
 *
 * When the stop completes, the process ends as the signal's default action
 * would (a death by that signal), unless the application listens for the
 * signal itself: then it keeps control.
 *
 * @module
 */

import type { ShutdownSignal } from "../adapter.ts";
import type { PostmasterContext } from "./context.ts";
import type { ShutdownMode } from "./pm_state.ts";

/**
 * The signals taken while the postmaster runs.
 *
 * @example
 * ```ts
 * import { ShutdownSignals } from "./shutdown_signals.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const signals = new ShutdownSignals(ctx, async () => {});
 * signals.catch();   // at start()
 * signals.release(); // when the stop is complete
 * ```
 */
export class ShutdownSignals {
  readonly #ctx: PostmasterContext;
  readonly #stop: (mode: ShutdownMode) => Promise<void>;
  #giveBack: (() => void) | null = null;
  #received: ShutdownSignal | null = null;

  /**
   * @param ctx the postmaster's rooms
   * @param stop the postmaster's stop
   */
  constructor(ctx: PostmasterContext, stop: (mode: ShutdownMode) => Promise<void>) {
    this.#ctx = ctx;
    this.#stop = stop;
  }

  /** Take the signals, when the option allows and the runtime can. */
  catch(): void {
    const { options, adapter } = this.#ctx;
    if (!options.handleSignals || !adapter.catchShutdownSignals || this.#giveBack) return;
    this.#giveBack = adapter.catchShutdownSignals((signal) => this.#onSignal(signal));
  }

  /** The stop is complete: give the signals back, then end the process as a received signal would have. */
  release(): void {
    this.#giveBack?.();
    this.#giveBack = null;
    const signal = this.#received;
    this.#received = null;
    if (signal) this.#ctx.adapter.endAsSignal?.(signal);
  }

  #onSignal(signal: ShutdownSignal): void {
    this.#received = signal;
    const current = this.#ctx.state.shutdownMode;
    const mode: ShutdownMode = signal === "SIGQUIT" || current === "fast" || current === "immediate"
      ? "immediate"
      : "fast";
    this.#ctx.log("LOG", `received ${signal}`);
    void this.#stop(mode);
  }
}
