/**
 * PostgreSQL's message levels, as bgworker's log lines carry them. A
 * worker's own lines travel to its postmaster and reach the same logger.
 *
 * @module
 */

/**
 * Every level, least severe first.
 *
 * @example
 * ```ts
 * import { LOG_LEVELS } from "./log_level.ts";
 * LOG_LEVELS.includes("FATAL"); // true
 * ```
 */
export const LOG_LEVELS = ["DEBUG1", "LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL"] as const;

/**
 * One of PostgreSQL's message levels.
 *
 * @example
 * ```ts
 * import type { LogLevel } from "./log_level.ts";
 * const level: LogLevel = "LOG";
 * ```
 */
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * Whether a value from the wire is a {@link LogLevel}.
 *
 * @example
 * ```ts
 * import { isLogLevel } from "./log_level.ts";
 * isLogLevel("PANIC"); // false
 * ```
 */
export function isLogLevel(value: unknown): value is LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value);
}
