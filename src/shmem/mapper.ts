/**
 * POSIX shared memory as the core sees it: a named segment mapped into this
 * process as an ArrayBuffer. Each runtime implements it through its foreign
 * function interface (koffi on Node, `Deno.dlopen`, `bun:ffi`), calling
 * `shm_open`, `ftruncate` and `mmap` in the C library; every process that
 * maps a name sees the same bytes, and `Atomics` on them are atomic across
 * processes (they compile to the processor's locked instructions).
 *
 * @module
 */

/**
 * A runtime's access to POSIX shared memory.
 *
 * @example
 * ```ts
 * import type { SharedMemoryMapper } from "./mapper.ts";
 * declare const mapper: SharedMemoryMapper;
 * const counter = new Int32Array(mapper.create("/bgworker.42", 4096));
 * Atomics.add(counter, 0, 1);
 * ```
 */
export interface SharedMemoryMapper {
  /** Create a new zeroed segment of `size` bytes and map it; fails if the name exists. */
  create(name: string, size: number): ArrayBuffer;
  /**
   * Map `size` bytes of an existing segment, from `offset` (a multiple of
   * {@link PAGE_SIZE}; the default 0 maps from the start).
   */
  attach(name: string, size: number, offset?: number): ArrayBuffer;
  /**
   * Create a new zeroed segment, map it, and remove its name at once,
   * keeping its descriptor open: nothing stays named, even after a SIGKILL
   * (PostgreSQL keeps its main segment anonymous for the same reason). Other
   * processes map it by {@link descriptorPath}. Absent where the runtime
   * cannot; the named segment is then removed at stop.
   */
  createUnnamed?(name: string, size: number): { buffer: ArrayBuffer; fd: number };
  /** Close a descriptor `createUnnamed` kept; the mappings stay valid. */
  closeDescriptor?(fd: number): void;
  /** Remove the name; existing mappings stay valid until their processes exit. Missing names are ignored. */
  unlink(name: string): void;
  /** The names of every segment on the machine (`/name`), to find those a dead postmaster left. */
  list(): string[];
}

/**
 * Where another process finds the segment behind a process's open
 * descriptor: Linux's `/proc/<pid>/fd/<fd>`, which opens the very file even
 * after its name was removed. {@link SharedMemoryMapper.attach} takes it in
 * place of a name.
 *
 * @example
 * ```ts
 * import { descriptorPath } from "./mapper.ts";
 * descriptorPath(4242, 27); // "/proc/4242/fd/27"
 * ```
 */
export function descriptorPath(pid: number, fd: number): string {
  return `/proc/${pid}/fd/${fd}`;
}

/** The granularity of mapping offsets (Linux's page size on x86-64 and AArch64 with 4 KiB pages). */
export const PAGE_SIZE = 4096;

/** Linux's values (x86-64 and AArch64 alike) for the flags the mappers pass to the C library. */
export const LINUX = {
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  PROT_READ_WRITE: 0x3,
  MAP_SHARED: 0x1,
  ENOENT: 2,
  EEXIST: 17,
} as const;

/**
 * The error of a failed shared memory call, naming the call, the segment
 * and the system's error number.
 *
 * @example
 * ```ts
 * import { SharedMemoryError } from "./mapper.ts";
 * throw new SharedMemoryError("shm_open", "/bgworker.42", 17);
 * ```
 */
export class SharedMemoryError extends Error {
  /** Always "SharedMemoryError". */
  override name = "SharedMemoryError";
  /** The C library's errno, or 0 when the platform has no POSIX shared memory. */
  readonly errno: number;

  /**
   * Describe a failed call; the message says what errno means where it is a common one.
   *
   * @param call the C function that failed
   * @param segment the segment's name
   * @param errno the system's error number
   */
  constructor(call: string, segment: string, errno: number) {
    const why = errno === LINUX.EEXIST
      ? "it already exists"
      : errno === LINUX.ENOENT
      ? "no such segment"
      : `errno ${errno}`;
    super(`could not ${call} shared memory segment "${segment}": ${why}`);
    this.errno = errno;
  }
}

/**
 * Refuse, with a clear error, on a platform without the POSIX shared memory
 * the mappers are written for.
 *
 * @example
 * ```ts
 * import { requireLinux } from "./mapper.ts";
 * requireLinux(process.platform);
 * ```
 */
export function requireLinux(platform: string): void {
  if (platform !== "linux") {
    throw new Error(
      `shared memory is not available on ${platform}: bgworker maps POSIX shared memory through Linux's C library; everything else works without it`,
    );
  }
}

/**
 * The few C library calls a mapper needs, as each runtime's foreign
 * function interface exposes them.
 *
 * @example
 * ```ts
 * import type { LibcCalls } from "./mapper.ts";
 * declare const libc: LibcCalls;
 * const fd = libc.shmOpen("/bgworker.42", 0o102, 0o600);
 * ```
 */
export interface LibcCalls {
  shmOpen(name: string, flags: number, mode: number): number;
  /** `open(path, flags)`, for a segment reached through {@link descriptorPath}. */
  open(path: string, flags: number): number;
  ftruncate(fd: number, size: number): number;
  /** `mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, offset)` as an ArrayBuffer, or null on MAP_FAILED. */
  mapShared(fd: number, size: number, offset: number): ArrayBuffer | null;
  close(fd: number): number;
  shmUnlink(name: string): number;
  /** The calling thread's errno, right after a failed call. */
  errno(): number;
}

/**
 * Build a {@link SharedMemoryMapper} over a runtime's C library calls.
 *
 * @example
 * ```ts
 * import { type LibcCalls, mapperFromLibc } from "./mapper.ts";
 * import { listSharedMemory } from "../../runtimes/shared/shm_directory.ts";
 * declare const libc: LibcCalls; // the runtime's foreign function bindings
 * const mapper = mapperFromLibc(libc, listSharedMemory);
 * ```
 */
export function mapperFromLibc(libc: LibcCalls, list: () => string[]): SharedMemoryMapper {
  const open = (name: string, size: number, flags: number, offset = 0): ArrayBuffer => {
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new RangeError(`shared memory segment "${name}": size must be a positive integer; got ${size}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0) {
      throw new RangeError(
        `shared memory segment "${name}": offset must be a non-negative multiple of ${PAGE_SIZE}; got ${offset}`,
      );
    }
    // A /proc path reaches a segment through another process's descriptor; a name goes through shm_open.
    const byPath = name.startsWith("/proc/");
    const fd = byPath ? libc.open(name, flags) : libc.shmOpen(name, flags, 0o600);
    if (fd < 0) throw new SharedMemoryError(byPath ? "open" : "shm_open", name, libc.errno());
    try {
      if ((flags & LINUX.O_CREAT) && libc.ftruncate(fd, size) !== 0) {
        throw new SharedMemoryError("ftruncate", name, libc.errno());
      }
      const buffer = libc.mapShared(fd, size, offset);
      if (!buffer) throw new SharedMemoryError("mmap", name, libc.errno());
      return buffer;
    } finally {
      // The mapping outlives the descriptor.
      libc.close(fd);
    }
  };
  return {
    create: (name, size) => open(name, size, LINUX.O_RDWR | LINUX.O_CREAT | LINUX.O_EXCL),
    attach: (name, size, offset) => open(name, size, LINUX.O_RDWR, offset),
    createUnnamed(name, size) {
      const buffer = open(name, size, LINUX.O_RDWR | LINUX.O_CREAT | LINUX.O_EXCL);
      // Reopened (the one above was closed once mapped), then unnamed: only the descriptor holds it now.
      const fd = libc.shmOpen(name, LINUX.O_RDWR, 0o600);
      const opened = fd >= 0 ? 0 : libc.errno();
      libc.shmUnlink(name);
      if (fd < 0) throw new SharedMemoryError("shm_open", name, opened);
      return { buffer, fd };
    },
    closeDescriptor(fd) {
      libc.close(fd);
    },
    unlink(name) {
      if (libc.shmUnlink(name) !== 0 && libc.errno() !== LINUX.ENOENT) {
        throw new SharedMemoryError("shm_unlink", name, libc.errno());
      }
    },
    list,
  };
}
