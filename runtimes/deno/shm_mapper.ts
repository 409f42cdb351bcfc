/**
 * POSIX shared memory on Deno through `Deno.dlopen`: the postmaster and its
 * workers need `--allow-ffi` (workers get the permissions the postmaster
 * holds).
 *
 * @module
 */

import { type LibcCalls, mapperFromLibc, requireLinux, type SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import { listSharedMemory } from "../shared/shm_directory.ts";
import { errorText } from "../../src/errors.ts";

interface DenoFfi {
  build: { os: string };
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointer: { value(pointer: unknown): bigint | number };
  UnsafePointerView: {
    getArrayBuffer(pointer: unknown, length: number): ArrayBuffer;
    new (pointer: unknown): { getInt32(offset?: number): number };
  };
}

const cString = (text: string) => new TextEncoder().encode(`${text}\0`);

/**
 * Map shared memory with Deno's foreign function interface.
 *
 * @example
 * ```ts
 * import { denoSharedMemory } from "./shm_mapper.ts";
 * const mapper = await denoSharedMemory();
 * ```
 */
export function denoSharedMemory(): Promise<SharedMemoryMapper> {
  const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  requireLinux(deno.build.os);
  let libc;
  try {
    libc = deno.dlopen("libc.so.6", {
      shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
      open: { parameters: ["buffer", "i32"], result: "i32" },
      ftruncate: { parameters: ["i32", "i64"], result: "i32" },
      mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
      close: { parameters: ["i32"], result: "i32" },
      shm_unlink: { parameters: ["buffer"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    }).symbols;
  } catch (error) {
    return Promise.reject(new Error(`shared memory on Deno needs --allow-ffi (${errorText(error)})`));
  }
  const calls: LibcCalls = {
    shmOpen: (name, flags, mode) => libc.shm_open!(cString(name), flags, mode) as number,
    open: (path, flags) => libc.open!(cString(path), flags) as number,
    ftruncate: (fd, size) => libc.ftruncate!(fd, BigInt(size)) as number,
    mapShared(fd, size, offset) {
      const pointer = libc.mmap!(null, BigInt(size), 3, 1, fd, BigInt(offset));
      if (pointer === null || BigInt(deno.UnsafePointer.value(pointer)) === 0xffffffffffffffffn) return null;
      return deno.UnsafePointerView.getArrayBuffer(pointer, size);
    },
    close: (fd) => libc.close!(fd) as number,
    shmUnlink: (name) => libc.shm_unlink!(cString(name)) as number,
    errno: () => new deno.UnsafePointerView(libc.__errno_location!()).getInt32(),
  };
  return Promise.resolve(mapperFromLibc(calls, listSharedMemory));
}
