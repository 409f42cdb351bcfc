/**
 * An in-memory SharedMemoryMapper for the fake runtime: segments are plain
 * ArrayBuffers in a map, so the postmaster's segment lifecycle (create,
 * recreate, remove, clean up leftovers) is tested without a kernel. A
 * mapping from an offset is a copy here (one ArrayBuffer cannot alias part
 * of another in plain JavaScript); the real sharing is tested with real
 * processes.
 */
import { LINUX, PAGE_SIZE, SharedMemoryError, type SharedMemoryMapper } from "../../src/shmem/mapper.ts";

export class FakeSharedMemory implements SharedMemoryMapper {
  readonly segments = new Map<string, ArrayBuffer>();

  create(name: string, size: number): ArrayBuffer {
    if (this.segments.has(name)) throw new SharedMemoryError("shm_open", name, LINUX.EEXIST);
    const buffer = new ArrayBuffer(size);
    this.segments.set(name, buffer);
    return buffer;
  }
  attach(name: string, size: number, offset = 0): ArrayBuffer {
    const buffer = this.segments.get(name);
    if (!buffer) throw new SharedMemoryError("shm_open", name, LINUX.ENOENT);
    if (offset % PAGE_SIZE !== 0) throw new RangeError("offset must be page-aligned");
    return offset === 0 && size === buffer.byteLength ? buffer : buffer.slice(offset, offset + size);
  }
  unlink(name: string): void {
    this.segments.delete(name);
  }
  list(): string[] {
    return [...this.segments.keys()];
  }
  /** Our postmasters' segments, by name. */
  get names(): string[] {
    return this.list().filter((name) => name.startsWith("/bgworker."));
  }
}
