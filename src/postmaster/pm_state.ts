/**
 * The postmaster's own state, one value with one transition function, as
 * PostgreSQL keeps `pmState` and changes it only through `UpdatePMState`.
 *
 * @module
 */

import type { LogLevel } from "../log_level.ts";
import { isStartTimeReached } from "../worker_spec.ts";

/**
 * Every state of the postmaster:
 *
 * - `init`: constructed, `start()` not called yet; static workers may register.
 * - `startup`: `start()` runs: the preload libraries and shared memory.
 * - `recovery`, `hot_standby`, `run`: running; which workers may start
 *   follows PostgreSQL's recovery states (`PM_RECOVERY`, `PM_HOT_STANDBY`, `PM_RUN`).
 * - `crash`: a shared-memory worker crashed; the others are being stopped
 *   and nothing starts until every process is gone (PostgreSQL's `FatalError`
 *   with `PM_WAIT_BACKENDS`).
 * - `stop_smart`, `stop_fast`, `stop_immediate`: `stop()` was called in that
 *   mode; waiting for the workers to be gone.
 * - `stopped`: every worker is gone; final.
 *
 * @example
 * ```ts
 * import type { PMState } from "./pm_state.ts";
 * const accepting = (state: PMState) => state === "run";
 * ```
 */
export type PMState =
  | "init"
  | "startup"
  | "recovery"
  | "hot_standby"
  | "run"
  | "crash"
  | "stop_smart"
  | "stop_fast"
  | "stop_immediate"
  | "stopped";

/**
 * How `stop()` ends the cluster: `smart` waits for workers to finish, `fast`
 * sends SIGTERM, `immediate` sends SIGQUIT. The last two send SIGKILL to
 * what is left after `stopTimeoutMs`.
 *
 * @example
 * ```ts
 * import type { ShutdownMode } from "bgworker";
 * const mode: ShutdownMode = "fast";
 * ```
 */
export type ShutdownMode = "smart" | "fast" | "immediate";

type RunningState = "recovery" | "hot_standby" | "run";
const RUNNING: readonly PMState[] = ["recovery", "hot_standby", "run"];
const SHUTDOWN_RANK: Record<ShutdownMode, number> = { smart: 1, fast: 2, immediate: 3 };

/**
 * The state machine. It remembers how far recovery had come, so that a
 * crash cycle returns to it and `beginHotStandby()` during start-up or a
 * crash is not lost.
 *
 * @example
 * ```ts
 * import { PostmasterState } from "./pm_state.ts";
 * const state = new PostmasterState(false, () => {});
 * state.transition("startup");
 * state.transition(state.runningState);
 * state.isRunning; // true
 * ```
 */
export class PostmasterState {
  #state: PMState = "init";
  #reached: RunningState;
  readonly #log: (level: LogLevel, message: string) => void;

  /**
   * @param recovery begin in recovery rather than normal running
   * @param log where each transition is logged (DEBUG1)
   */
  constructor(recovery: boolean, log: (level: LogLevel, message: string) => void) {
    this.#reached = recovery ? "recovery" : "run";
    this.#log = log;
  }

  /** The current state. */
  get current(): PMState {
    return this.#state;
  }

  /** Whether the state is `state` now (a method, so that a check after an await reads the state anew). */
  is(state: PMState): boolean {
    return this.#state === state;
  }

  /** The running state recovery has reached: where start-up and a crash cycle lead. */
  get runningState(): RunningState {
    return this.#reached;
  }

  /** Recovery, hot standby or normal running: workers may start. */
  get isRunning(): boolean {
    return RUNNING.includes(this.#state);
  }

  /** `stop()` was called (and the stop has not finished). */
  get shutdownMode(): ShutdownMode | null {
    return this.#state.startsWith("stop_") ? this.#state.slice(5) as ShutdownMode : null;
  }

  /** Static workers may still register: before or during `start()`. */
  get acceptsStaticWorkers(): boolean {
    return this.#state === "init" || this.#state === "startup";
  }

  /** New dynamic workers are refused once shutdown began. */
  get acceptsDynamicWorkers(): boolean {
    return this.#state !== "stopped" && this.shutdownMode === null;
  }

  /** Whether a worker with this `bgw_start_time` may start in the recovery state reached. */
  startTimeReached(startTime: 0 | 1 | 2): boolean {
    return isStartTimeReached(startTime, this.#reached);
  }

  /**
   * Recovery went forward (never back). Returns true when the postmaster is
   * running, so the caller logs the new state and starts what may start.
   */
  advanceRecovery(to: "hot_standby" | "run"): boolean {
    if (this.#reached === "run" || (to === "hot_standby" && this.#reached === "hot_standby")) return false;
    this.#reached = to;
    if (!this.isRunning) return false;
    this.transition(to);
    return true;
  }

  /** Whether `stop(mode)` takes over from the current state: only a stronger mode does. */
  shutdownTakesOver(mode: ShutdownMode): boolean {
    if (this.#state === "stopped") return false;
    const current = this.shutdownMode;
    return current === null || SHUTDOWN_RANK[mode] > SHUTDOWN_RANK[current];
  }

  /**
   * Move to `to`. Every change of state passes here, and the line PostgreSQL
   * logs for it is logged here: reaching a running state, a crash, the end
   * of a crash cycle, a shutdown request.
   */
  transition(to: PMState): void {
    const from = this.#state;
    if (to === from) return;
    if (from === "stopped") throw new Error(`postmaster state: no transition out of "stopped" (to "${to}")`);
    this.#state = to;
    const line = to === "crash"
      ? "terminating any other active server processes"
      : from === "crash" && this.isRunning
      ? "all server processes terminated; reinitializing"
      : this.isRunning
      ? this.#describeRunning()
      : to.startsWith("stop_")
      ? `received ${to.slice(5)} shutdown request`
      : null;
    if (line) this.#log("LOG", line);
  }

  #describeRunning(): string {
    return this.#reached === "run"
      ? "database system is ready to accept connections"
      : this.#reached === "hot_standby"
      ? "database system is ready to accept read-only connections"
      : "database system is in recovery";
  }
}
