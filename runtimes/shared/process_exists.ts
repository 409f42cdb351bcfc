/**
 * Whether a process is alive, through `node:process` and Linux's procfs,
 * on Node, Deno and Bun alike.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/**
 * True when signal 0 reaches the process and, where procfs tells, it is not
 * a zombie that nobody reaped (a killed process whose parent has not
 * collected it yet is dead for every purpose here).
 *
 * @example
 * ```ts
 * import { processExists } from "./process_exists.ts";
 * if (!processExists(4242)) console.log("gone");
 * ```
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as { code?: string }).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true; // no procfs: signal 0 is all there is
  }
}
