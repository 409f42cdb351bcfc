/**
 * The shared memory mapper of the runtime this process runs on, loaded once
 * and only when shared memory is used: koffi on Node, `Deno.dlopen` on Deno,
 * `bun:ffi` on Bun. The postmaster and the worker bootstrap share this.
 *
 * @module
 */

import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";

let loading: Promise<SharedMemoryMapper> | null = null;

/**
 * This runtime's mapper; the same promise on every call (a failure is
 * remembered too: what could not load once will not load later).
 *
 * @example
 * ```ts
 * import { runtimeSharedMemory } from "./shared_memory.ts";
 * const mapper = await runtimeSharedMemory();
 * const counters = new Int32Array(mapper.attach("/bgworker.42.1", 4096));
 * ```
 */
export function runtimeSharedMemory(): Promise<SharedMemoryMapper> {
  // Deno and Bun also define process.versions.node, so they are asked first.
  return loading ??= "Deno" in globalThis
    ? import("../deno/shm_mapper.ts").then((m) => m.denoSharedMemory())
    : "Bun" in globalThis
    ? import("../bun/shm_mapper.ts").then((m) => m.bunSharedMemory())
    : import("./shm_mapper.ts").then((m) => m.nodeSharedMemory());
}
