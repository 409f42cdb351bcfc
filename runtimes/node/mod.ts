/**
 * bgworker on Node.js: the supervisor API with the Node adapter wired in.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker/node";
 * const pm = new Postmaster({ maxWorkerProcesses: 4 });
 * await pm.start();
 * ```
 *
 * @module
 */

import type { RuntimeAdapter } from "../../src/adapter.ts";
import { Postmaster as CorePostmaster, type PostmasterOptions } from "../../src/postmaster/postmaster.ts";
import { startEmbeddedDatabase } from "../shared/embedded/embedded_database.ts";
import { createProcessAdapter } from "../shared/process_adapter.ts";
import { SPAWNER_SCRIPT } from "../shared/spawner/spawner_script.ts";
import { nodeWorkerCommand } from "./command.ts";

export * from "../../src/postmaster/public_api.ts";

/**
 * A postmaster whose workers are Node processes.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker/node";
 * const pm = new Postmaster();
 * ```
 */
export class Postmaster extends CorePostmaster {
  /**
   * A cluster whose workers the Node adapter starts, unless `options.adapter` gives another.
   *
   * @param options the cluster's settings; `adapter` replaces the Node one
   */
  constructor(options: PostmasterOptions & { adapter?: RuntimeAdapter } = {}) {
    super({
      ...options,
      adapter: options.adapter ??
        createProcessAdapter(nodeWorkerCommand, {
          startEmbeddedDatabase,
          heapLimitSignal: "SIGABRT",
          // Its spawn forks: a spawner keeps the fork's cost off the application's memory and loop.
          spawnerCommand: {
            execPath: process.execPath,
            args: ["--input-type=module", "-e", SPAWNER_SCRIPT],
            env: { NODE_OPTIONS: "" },
          },
        }),
    });
  }
}
