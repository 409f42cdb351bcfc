/**
 * bgworker: PostgreSQL's background workers for Node.js, Deno and Bun.
 *
 * This entry point picks the adapter of the runtime it runs on; the subpaths
 * `./node`, `./deno` and `./bun` name one directly.
 *
 * @example
 * ```ts
 * import { BGW_NEVER_RESTART, Postmaster } from "bgworker";
 * const pm = new Postmaster({ maxWorkerProcesses: 4 });
 * const handle = pm.registerDynamicBackgroundWorker({
 *   bgw_name: "hello", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: BGW_NEVER_RESTART,
 *   bgw_library_name: "./hello_worker.ts", bgw_function_name: "helloMain", bgw_notify_pid: pm.pid,
 * });
 * await pm.start();
 * ```
 *
 * @module
 */

import type { CorePostmaster, PostmasterConstructor } from "./src/postmaster/public_api.ts";
import { importRuntimeModule } from "./runtimes/detect.ts";

export * from "./src/postmaster/public_api.ts";

// runtimes/detect.ts decides which runtime this is, and loads that runtime's leaf only.
const runtime = await importRuntimeModule();

/**
 * The postmaster, with the adapter of the runtime this module runs on.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster();
 * await pm.start();
 * await pm.stop("fast");
 * ```
 */
export const Postmaster: PostmasterConstructor = runtime.Postmaster;
/** The postmaster's instance type. */
export type Postmaster = CorePostmaster;
