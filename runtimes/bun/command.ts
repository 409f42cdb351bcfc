/**
 * The command line of a worker process on Bun: the same `bun` binary and
 * the worker entry, nothing else: Bun runs TypeScript itself, and the
 * worker starts in its postmaster's working directory, where Bun finds the
 * same bunfig.toml.
 *
 * @module
 */

import process from "node:process";
import type { SpawnOptions } from "../../src/adapter.ts";
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
export function bunWorkerCommand(_start?: unknown, options: SpawnOptions = {}): WorkerCommand {
  // JavaScriptCore has no hard heap limit. Its nearest: told the machine has only this much memory, its
  // collector sizes the heap to it; the postmaster's check of the worker's resident memory is the bound.
  const env = options.heapLimitMb === undefined
    ? undefined
    : { BUN_JSC_forceRAMSize: String(options.heapLimitMb * 1024 * 1024) };
  return { execPath: process.execPath, args: [bootstrapPath()], env };
}
