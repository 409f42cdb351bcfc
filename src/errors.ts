/**
 * The one error type bgworker throws for a worker it refuses or cannot serve.
 *
 * @module
 */

/** What went wrong, in the spirit of PostgreSQL's SQLSTATE classes. */
export type BackgroundWorkerErrorCode =
  | "invalid_parameter_value"
  | "configuration_limit_exceeded"
  | "object_not_in_prerequisite_state"
  | "invalid_handle";

/** Options of {@link BackgroundWorkerError}. */
export interface BackgroundWorkerErrorOptions {
  /** The worker's `bgw_name`, or a placeholder when it has none. */
  worker: string;
  /** The `BackgroundWorker` field (or API argument) that was wrong. */
  field?: string;
  /** Class of the failure. */
  code: BackgroundWorkerErrorCode;
  /** PostgreSQL-style detail line. */
  detail?: string;
  /** PostgreSQL-style hint line. */
  hint?: string;
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * A worker was refused or could not be served. Its message starts as
 * PostgreSQL's do (`background worker "name": ...`) and the worker and the
 * offending field are also properties, so callers can react without parsing.
 *
 * @example
 * ```ts
 * import type { BackgroundWorker, Postmaster } from "bgworker";
 * import { BackgroundWorkerError } from "./errors.ts";
 * declare const pm: Postmaster;
 * declare const worker: BackgroundWorker;
 * try {
 *   pm.registerBackgroundWorker(worker);
 * } catch (error) {
 *   if (error instanceof BackgroundWorkerError) console.error(error.worker, error.field);
 * }
 * ```
 */
export class BackgroundWorkerError extends Error {
  /** The worker's `bgw_name`. */
  readonly worker: string;
  /** The field or argument that was wrong, when one was. */
  readonly field: string | undefined;
  /** Class of the failure. */
  readonly code: BackgroundWorkerErrorCode;
  /** PostgreSQL-style detail line. */
  readonly detail: string | undefined;
  /** PostgreSQL-style hint line. */
  readonly hint: string | undefined;

  /**
   * Build the error; its message starts with the worker's name, as PostgreSQL's do.
   *
   * @param message the primary message, without the worker prefix
   * @param options who and what
   */
  constructor(message: string, options: BackgroundWorkerErrorOptions) {
    super(`background worker "${options.worker}": ${message}`, { cause: options.cause });
    this.name = "BackgroundWorkerError";
    this.worker = options.worker;
    this.field = options.field;
    this.code = options.code;
    this.detail = options.detail;
    this.hint = options.hint;
  }
}

/**
 * The text of anything thrown: an error's message, or the value as a
 * string. Log lines and wire errors quote this, never a stack.
 *
 * @example
 * ```ts
 * import { errorText } from "./errors.ts";
 * errorText(new Error("boom")); // "boom"
 * errorText(42); // "42"
 * ```
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error of a wait on a worker that was not registered to tell the
 * caller: PostgreSQL's waits need `bgw_notify_pid` to be the caller's pid,
 * and bgworker throws instead of waiting forever. One builder serves the
 * postmaster's waits and a worker's.
 *
 * @example
 * ```ts
 * import { notifyPidRequiredError } from "./errors.ts";
 * const error = notifyPidRequiredError("waitForBackgroundWorkerStartup", { worker: "w", notifyPid: 0, callerPid: 42, callerName: "the postmaster", hint: "bgw_notify_pid: pm.pid" });
 * ```
 */
export function notifyPidRequiredError(
  caller: string,
  who: { worker: string; notifyPid: number; callerPid: number; callerName: string; hint: string },
): BackgroundWorkerError {
  return new BackgroundWorkerError(`${caller} requires bgw_notify_pid to be the caller's pid`, {
    worker: who.worker,
    field: "bgw_notify_pid",
    code: "object_not_in_prerequisite_state",
    detail: `The worker was registered with bgw_notify_pid = ${who.notifyPid}; ${who.callerName} is ${who.callerPid}.`,
    hint: `Register it with ${who.hint} to be told when it starts and stops.`,
  });
}
