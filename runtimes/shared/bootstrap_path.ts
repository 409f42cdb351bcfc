/**
 * Where the worker bootstrap lives, as a path: `.ts` when bgworker runs
 * from source, `.js` when it runs from `dist/` (where
 * scripts/bundle_worker.mjs writes `worker_main.js` next to this file's
 * compiled twin). Every runtime's command line ends with it.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/**
 * Absolute path of `worker_main` next to this file, with this file's extension.
 *
 * @example
 * ```ts
 * import { spawn } from "node:child_process";
 * import { bootstrapPath } from "./bootstrap_path.ts";
 * spawn(process.execPath, [bootstrapPath()]);
 * ```
 */
export function bootstrapPath(): string {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`./worker_main${extension}`, import.meta.url));
}
