/**
 * A workaround for Deno (seen on 2.9): once a child's IPC channel closes,
 * node:fs hands out descriptor 3, the channel's own number, and writes
 * through it still go to the closed channel and fail with EPIPE. A worker
 * that writes a file right after its postmaster died would fail. Opening and
 * closing one descriptor clears the stale entry.
 *
 * It lives with the shared worker entry, which applies it on Deno only, so
 * that the entry needs no leaf (and no extra module load) at boot.
 *
 * @module
 */

import { closeSync, openSync } from "node:fs";

/**
 * Clear Deno's stale entry for the closed channel's descriptor. Harmless
 * elsewhere, and never throws.
 *
 * @example
 * ```ts
 * import { releaseClosedChannelDescriptor } from "./closed_channel_descriptor.ts";
 * process.once("disconnect", releaseClosedChannelDescriptor);
 * ```
 */
export function releaseClosedChannelDescriptor(): void {
  try {
    closeSync(openSync("/dev/null", "r"));
  } catch {
    // No /dev/null (not a POSIX system): nothing to clear either.
  }
}
