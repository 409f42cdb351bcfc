/**
 * The command line of a worker process on Bun: the same `bun` binary and
 * the worker entry, nothing else: Bun runs TypeScript itself, and the
 * worker starts in its postmaster's working directory, where Bun finds the
 * same bunfig.toml.
 *
 * @module
 */

import process from "node:process";
import { bootstrapPath } from "../shared/bootstrap_path.ts";
import type { WorkerCommand } from "../shared/worker_command.ts";

/**
 * How to start a worker on Bun.
 *
 * @example
 * ```ts
 * import { bunWorkerCommand } from "./command.ts";
 * const { execPath, args } = bunWorkerCommand(); // ["/usr/local/bin/bun", [".../worker_main.ts"]]
 * ```
 */
export function bunWorkerCommand(): WorkerCommand {
  return { execPath: process.execPath, args: [bootstrapPath()] };
}
