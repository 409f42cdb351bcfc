/**
 * POSIX shared memory on Node through koffi, an optional dependency loaded
 * only when shared memory is used: installing without it (or without native
 * install scripts) leaves everything else working.
 *
 * @module
 */

import process from "node:process";
import { type LibcCalls, mapperFromLibc, requireLinux, type SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import { listSharedMemory } from "../shared/shm_directory.ts";
import { errorText } from "../../src/errors.ts";

interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  view(pointer: unknown, length: number): ArrayBuffer;
  decode(pointer: unknown, type: string): unknown;
  address(pointer: unknown): bigint;
}

/**
 * Load koffi and map shared memory with it.
 *
 * @example
 * ```ts
 * import { nodeSharedMemory } from "./shm_mapper.ts";
 * const mapper = await nodeSharedMemory();
 * ```
 */
export async function nodeSharedMemory(): Promise<SharedMemoryMapper> {
  requireLinux(process.platform);
  let koffi: Koffi;
  try {
    koffi = ((await import("koffi")) as { default: Koffi }).default;
  } catch (error) {
    throw new Error(
      `shared memory on Node needs the optional dependency koffi, which could not be loaded (${
        errorText(error)
      }); install it with: npm install koffi`,
    );
  }
  const libc = koffi.load("libc.so.6");
  const shmOpen = libc.func("int shm_open(const char *name, int oflag, unsigned int mode)");
  const open = libc.func("int open(const char *path, int flags)");
  const ftruncate = libc.func("int ftruncate(int fd, long length)");
  const mmap = libc.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)");
  const close = libc.func("int close(int fd)");
  const shmUnlink = libc.func("int shm_unlink(const char *name)");
  const errnoLocation = libc.func("int *__errno_location()");
  const calls: LibcCalls = {
    shmOpen: (name, flags, mode) => shmOpen(name, flags, mode) as number,
    open: (path, flags) => open(path, flags) as number,
    ftruncate: (fd, size) => ftruncate(fd, size) as number,
    mapShared(fd, size, offset) {
      const pointer = mmap(null, size, 3, 1, fd, offset);
      // MAP_FAILED is (void *) -1.
      if (pointer === null || koffi.address(pointer) === 0xffffffffffffffffn) return null;
      return koffi.view(pointer, size);
    },
    close: (fd) => close(fd) as number,
    shmUnlink: (name) => shmUnlink(name) as number,
    errno: () => koffi.decode(errnoLocation(), "int") as number,
  };
  return mapperFromLibc(calls, listSharedMemory);
}
