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
import { nodeWorkerCommand } from "./command.ts";
import { createProcessAdapter } from "./process_adapter.ts";

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
  /** @param options the cluster's settings; `adapter` replaces the Node one */
  constructor(options: PostmasterOptions & { adapter?: RuntimeAdapter } = {}) {
    super({ ...options, adapter: options.adapter ?? createProcessAdapter(nodeWorkerCommand) });
  }
}
