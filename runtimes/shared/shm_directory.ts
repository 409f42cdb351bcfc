/**
 * The names of the POSIX shared memory segments on this machine. On Linux,
 * `shm_open("/name")` creates the file `/dev/shm/name`, so listing that
 * directory lists the segments; `node:fs` does it on Node, Deno and Bun.
 *
 * @module
 */

import { readdirSync } from "node:fs";

/** Where Linux keeps POSIX shared memory objects. */
const SHM_DIRECTORY = "/dev/shm";

/**
 * Every segment's name, as `shm_open` takes it (with the leading slash);
 * empty when the directory cannot be read.
 *
 * @example
 * ```ts
 * import { listSharedMemory } from "./shm_directory.ts";
 * const ours = listSharedMemory().filter((name) => name.startsWith("/bgworker."));
 * ```
 */
export function listSharedMemory(): string[] {
  try {
    return readdirSync(SHM_DIRECTORY).map((file) => `/${file}`);
  } catch {
    return [];
  }
}
