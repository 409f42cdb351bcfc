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

import type { Postmaster as NodePostmaster } from "./runtimes/node/mod.ts";

export * from "./src/postmaster/public_api.ts";

// Deno and Bun also define process.versions.node, so they are asked first.
const runtime = "Deno" in globalThis
  ? await import("./runtimes/deno/mod.ts")
  : "Bun" in globalThis
  ? await import("./runtimes/bun/mod.ts")
  : await import("./runtimes/node/mod.ts");

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
export const Postmaster: typeof NodePostmaster = runtime.Postmaster;
/** The postmaster's instance type. */
export type Postmaster = NodePostmaster;
