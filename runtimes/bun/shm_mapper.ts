/**
 * POSIX shared memory on Bun through `bun:ffi`.
 *
 * @module
 */

import process from "node:process";
import { type LibcCalls, mapperFromLibc, requireLinux, type SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import { listSharedMemory } from "../shared/shm_directory.ts";

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  toArrayBuffer(pointer: number, offset: number, length: number): ArrayBuffer;
  read: { i32(pointer: number, offset?: number): number };
}

const cString = (text: string) => new TextEncoder().encode(`${text}\0`);

/**
 * Map shared memory with Bun's foreign function interface.
 *
 * @example
 * ```ts
 * import { bunSharedMemory } from "./shm_mapper.ts";
 * const mapper = await bunSharedMemory();
 * ```
 */
export async function bunSharedMemory(): Promise<SharedMemoryMapper> {
  requireLinux(process.platform);
  // A specifier only Bun resolves; kept out of other runtimes' type checks and module graphs.
  const specifier = "bun:ffi";
  const ffi = (await import(specifier)) as BunFfi;
  const libc = ffi.dlopen("libc.so.6", {
    shm_open: { args: ["ptr", "i32", "u32"], returns: "i32" },
    open: { args: ["ptr", "i32"], returns: "i32" },
    ftruncate: { args: ["i32", "i64"], returns: "i32" },
    mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "i64"], returns: "ptr" },
    close: { args: ["i32"], returns: "i32" },
    shm_unlink: { args: ["ptr"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
  }).symbols;
  const calls: LibcCalls = {
    shmOpen: (name, flags, mode) => libc.shm_open!(cString(name), flags, mode) as number,
    open: (path, flags) => libc.open!(cString(path), flags) as number,
    ftruncate: (fd, size) => libc.ftruncate!(fd, size) as number,
    mapShared(fd, size, offset) {
      const pointer = libc.mmap!(null, size, 3, 1, fd, offset) as number | null;
      // MAP_FAILED is (void *) -1, which bun:ffi turns into a number that is not a valid address.
      if (pointer === null || pointer === -1 || pointer >= 2 ** 64 - 1) return null;
      return ffi.toArrayBuffer(pointer, 0, size);
    },
    close: (fd) => libc.close!(fd) as number,
    shmUnlink: (name) => libc.shm_unlink!(cString(name)) as number,
    errno: () => ffi.read.i32(libc.__errno_location!() as number),
  };
  return mapperFromLibc(calls, listSharedMemory);
}
