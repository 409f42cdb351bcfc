/**
 * The command line that starts a worker process, which each runtime's leaf
 * builds (node/command.ts, deno/command.ts, bun/command.ts) and the shared
 * process adapter runs.
 *
 * @module
 */

/**
 * How to start a worker process on one runtime.
 *
 * @example
 * ```ts
 * import type { WorkerCommand } from "./worker_command.ts";
 * const command: WorkerCommand = { execPath: process.execPath, args: ["worker_main.js"] };
 * ```
 */
export interface WorkerCommand {
  /** The runtime's binary. */
  execPath: string;
  /** Its arguments, ending with the worker entry (see bootstrap_path.ts). */
  args: string[];
  /** Variables added to the postmaster's environment. */
  env?: Record<string, string>;
}

/**
 * Set to "1" by a Node spare's command when a TypeScript worker is expected:
 * the spare warms Node's type stripper while it waits (see
 * worker_typescript.ts, which removes it from the spare's environment).
 *
 * @example
 * ```ts
 * import { WARM_TYPESCRIPT_ENV, type WorkerCommand } from "./worker_command.ts";
 * const spare: WorkerCommand = { execPath: process.execPath, args: ["worker_main.js"], env: { [WARM_TYPESCRIPT_ENV]: "1" } };
 * ```
 */
export const WARM_TYPESCRIPT_ENV = "BGWORKER_WARM_TYPESCRIPT";
