/**
 * The shared memory mapper of the runtime this process runs on, loaded once
 * and only when shared memory is used. The postmaster's adapter and the
 * worker's port share this; detect.ts decides which runtime's mapper it is.
 *
 * @module
 */

import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import { importSharedMemoryMapper } from "../detect.ts";

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
  return loading ??= importSharedMemoryMapper();
}
