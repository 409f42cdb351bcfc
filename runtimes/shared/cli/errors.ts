/**
 * The `bgworker` command's exit codes, and the one error type its parts
 * throw: a message for stderr and the code to exit with.
 *
 * @module
 */

/** The request was done; for `health`, the postmaster answers and no worker failed. */
export const EXIT_OK = 0;
/** The postmaster refused the request, or (`health`) something is wrong. */
export const EXIT_FAILED = 1;
/** The command line was wrong: unknown command or flag, a missing or bad value, several postmasters and none chosen. */
export const EXIT_USAGE = 2;
/** No postmaster could be reached: none found, socket gone or stale, permission denied, no answer in time. */
export const EXIT_UNREACHABLE = 3;

/**
 * An error the command reports as one line on stderr, exiting with
 * `exitCode`.
 *
 * @example
 * ```ts
 * import { CliError, EXIT_USAGE } from "./errors.ts";
 * const error = new CliError('unknown command "sp"; did you mean "ps"?', EXIT_USAGE);
 * console.log(error.exitCode); // 2
 * ```
 */
export class CliError extends Error {
  /** The process's exit code. */
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
