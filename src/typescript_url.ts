/**
 * Whether a module is TypeScript, read from its URL as the runtimes read it:
 * by the extension of the path. Node before 22.18 runs TypeScript only
 * through a loader (tsx), which costs a process 100-200 ms of CPU to load;
 * the spare pool and the worker's start path load it only for a module
 * this says is TypeScript.
 *
 * @module
 */

/** `.ts`, `.mts`, `.cts` and `.tsx`: what tsx, Deno and Bun compile (Node itself strips the first three). */
const TYPESCRIPT_PATH = /\.[cm]?tsx?$/;

/**
 * Whether the module at `url` (a URL or a path) is TypeScript, by the
 * extension of its path; a query or fragment does not count.
 *
 * @example
 * ```ts
 * import { isTypeScriptUrl } from "./typescript_url.ts";
 * isTypeScriptUrl("file:///srv/app/jobs.ts?v=2"); // true
 * isTypeScriptUrl("file:///srv/app/jobs.mjs"); // false
 * ```
 */
export function isTypeScriptUrl(url: string): boolean {
  return TYPESCRIPT_PATH.test(url.replace(/[?#].*$/s, ""));
}
