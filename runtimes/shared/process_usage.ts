/**
 * A process's resident memory and CPU time, read from Linux's /proc: two
 * small files, no child process, cheap enough for every status call.
 *
 * @module
 */

import { readFileSync } from "node:fs";

/** Linux's clock ticks per second for /proc's CPU times (USER_HZ, 100 on every architecture bgworker runs on). */
const TICKS_PER_SECOND = 100;
/** Bytes per page in /proc's memory figures (4 KiB on x86-64 and AArch64 as configured by common distributions). */
const PAGE_BYTES = 4096;

/**
 * `{ rssBytes, cpuSeconds }` of a running process, or null where /proc does
 * not say (another system, or the process is gone).
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { processUsage } from "./process_usage.ts";
 * const usage = processUsage(process.pid); // { rssBytes: 52428800, cpuSeconds: 0.42 } on Linux
 * ```
 */
export function processUsage(pid: number): { rssBytes: number; cpuSeconds: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const residentPages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(residentPages)) return null;
    return { rssBytes: residentPages * PAGE_BYTES, cpuSeconds: ticks / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}
