/**
 * Imported, for its effect, by a Node spare that expects a TypeScript
 * worker (see worker_typescript.ts): it loads Node's type stripper while
 * the spare waits. The first `.ts` import of a Node 24 process loads the
 * stripper, 25-30 ms on the path of whoever imports first; after this, a
 * worker's `.ts` library imports in about 2 ms.
 *
 * A spare cannot simply import a `.ts` file of this package for the same
 * effect: installed under `node_modules/`, Node refuses to strip one
 * (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING) before it loads the
 * stripper. `module.stripTypeScriptTypes` runs the very stripper the
 * module loader uses.
 *
 * @module
 */

import nodeModule from "node:module";
import process from "node:process";

/** What of `node:module` and `process` the warm-up uses; Node 22.13 and later have `stripTypeScriptTypes`. */
interface WarmUpHost {
  stripTypeScriptTypes?: (code: string) => string;
  process: { emitWarning: (...args: never[]) => void };
}

/**
 * Run Node's type stripper once on nothing, which loads it, without its
 * experimental-feature warning: a spare writes on the postmaster's
 * stderr, and the warning would tell of something the application never
 * called. (Node warns once per feature: a worker's own later call to
 * `stripTypeScriptTypes` goes unwarned.) Returns whether the stripper ran;
 * a runtime without it (Node before 22.13, Deno, Bun) does nothing.
 *
 * @example
 * ```ts
 * import { warmTypeScriptStripper } from "./typescript_warmup.ts";
 * warmTypeScriptStripper(); // true on Node 24
 * ```
 */
export function warmTypeScriptStripper(
  host: WarmUpHost = { stripTypeScriptTypes: (nodeModule as Partial<WarmUpHost>).stripTypeScriptTypes, process },
): boolean {
  const strip = host.stripTypeScriptTypes;
  if (typeof strip !== "function") return false;
  const emitWarning = host.process.emitWarning;
  host.process.emitWarning = () => {};
  try {
    strip("");
    return true;
  } catch {
    return false; // a stripper that cannot load now will say so, if ever, to the worker that needs it
  } finally {
    host.process.emitWarning = emitWarning;
  }
}

warmTypeScriptStripper();
