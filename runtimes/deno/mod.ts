/**
 * bgworker on Deno: the supervisor API with the Deno adapter wired in.
 * The postmaster needs `--allow-run` (to start workers), `--allow-read` and
 * `--allow-env`; workers get the permissions it holds in full.
 *
 * @example
 * ```ts
 * import { Postmaster } from "@bgworker/bgworker/deno";
 * const pm = new Postmaster();
 * await pm.start();
 * ```
 *
 * @module
 */

import type { RuntimeAdapter } from "../../src/adapter.ts";
import { Postmaster as CorePostmaster, type PostmasterOptions } from "../../src/postmaster/postmaster.ts";
import { startEmbeddedDatabase } from "../shared/embedded/embedded_database.ts";
import { createProcessAdapter } from "../shared/process_adapter.ts";
import { denoWorkerCommand } from "./command.ts";
import { denoLaunch } from "./launch.ts";

export * from "../../src/postmaster/public_api.ts";

/**
 * A postmaster whose workers are Deno processes.
 *
 * @example
 * ```ts
 * import { Postmaster } from "@bgworker/bgworker/deno";
 * const pm = new Postmaster();
 * ```
 */
export class Postmaster extends CorePostmaster {
  /**
   * A cluster whose workers the Deno adapter starts, unless `options.adapter` gives another.
   *
   * @param options the cluster's settings; `adapter` replaces the Deno one
   */
  constructor(options: PostmasterOptions & { adapter?: RuntimeAdapter } = {}) {
    super({
      ...options,
      adapter: options.adapter ??
        createProcessAdapter(denoWorkerCommand, {
          startEmbeddedDatabase,
          heapLimitSignal: "SIGTRAP",
          // Spawned with posix_spawn, over a socket channel: a spawn that does not grow with the application's
          // Buffers (see launch.ts, and why not a spawner).
          launch: denoLaunch,
        }),
    });
  }
}
