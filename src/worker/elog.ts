/**
 * Log lines from a worker. They travel to the postmaster and reach its
 * logger, as PostgreSQL's workers write to the server's one log; once the
 * postmaster is gone they go to the worker's stderr instead.
 *
 * @module
 */

import { isLogLevel, type LogLevel } from "../log_level.ts";
import { workerState } from "./state.ts";

/**
 * Log a line at a PostgreSQL message level, like `elog(LOG, ...)`. Unlike
 * PostgreSQL's, `elog("ERROR", ...)` does not throw: throw an error for that.
 * Resolves once the line is on its way.
 *
 * @example
 * ```ts
 * import { elog } from "bgworker/worker";
 * await elog("LOG", "worker_spi: counted 42 rows");
 * ```
 */
export function elog(level: LogLevel, message: string): Promise<void> {
  if (!isLogLevel(level)) {
    throw new TypeError(
      `elog: unknown level ${
        JSON.stringify(String(level))
      }; use one of DEBUG1, LOG, INFO, NOTICE, WARNING, ERROR, FATAL`,
    );
  }
  const { port, postmasterDead } = workerState();
  if (!port) return Promise.resolve();
  if (postmasterDead) {
    port.writeLog(`${level}:  ${message}`);
    return Promise.resolve();
  }
  return port.send({ type: "log", level, message: String(message) });
}
