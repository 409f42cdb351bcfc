/**
 * bgworker on Bun: the supervisor API with the Bun adapter wired in. Workers
 * are Bun processes, which run TypeScript natively.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker/bun";
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
import { bunWorkerCommand } from "./command.ts";

export * from "../../src/postmaster/public_api.ts";

/**
 * A postmaster whose workers are Bun processes.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker/bun";
 * const pm = new Postmaster();
 * ```
 */
export class Postmaster extends CorePostmaster {
  /**
   * A cluster whose workers the Bun adapter starts, unless `options.adapter` gives another.
   *
   * @param options the cluster's settings; `adapter` replaces the Bun one
   */
  constructor(options: PostmasterOptions & { adapter?: RuntimeAdapter } = {}) {
    super({
      ...options,
      adapter: options.adapter ?? createProcessAdapter(bunWorkerCommand, { startEmbeddedDatabase }),
    });
  }
}
