/**
 * The postmaster's side of shared memory, PostgreSQL's
 * `CreateSharedMemoryAndSemaphores` in small: it gathers what `_PG_init`
 * requests, creates one segment at start sized from the requests, creates
 * a new zeroed one after a crash, removes it at stop, and removes what
 * postmasters killed before they could stop left behind.
 *
 * Segments are named `/bgworker.<postmaster pid>.<serial>`: the pid says
 * whose a segment is, so a later postmaster can tell a dead one's leftovers
 * from a live one's.
 *
 * @module
 */

import type { LogLevel } from "../log_level.ts";
import { errorText } from "../errors.ts";
import { utf8Encode } from "../utf8.ts";
import type { WorkerSharedMemory } from "../protocol.ts";
import { SegmentAttachment } from "../shmem/attachment.ts";
import { descriptorPath, LINUX, SharedMemoryError, type SharedMemoryMapper } from "../shmem/mapper.ts";
import { initializeSegment, MAX_ENTRIES, segmentSize, type ShmemRequests } from "../shmem/segment.ts";

/** Largest segment: offsets inside it are 32-bit words. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 2 ** 20;
/** PostgreSQL's `MAX_BACKENDS`, the most slots `maxWorkerProcesses` allows: the wait event words when the host does not say. */
const MAX_WORKER_SLOTS = 262_143;
/** Most locks one tranche may ask for. */
const MAX_TRANCHE_LOCKS = 1 << 16;
const SEGMENT_NAME = /^\/bgworker\.(\d+)\.(\d+)$/;

/** Names of the segments this process's postmasters own: several postmasters may share a process and a pid. */
const ownedHere: Set<string> =
  ((globalThis as unknown as Record<symbol, Set<string> | undefined>)[Symbol.for("bgworker.shmem.owned")] ??=
    new Set());

/**
 * What a {@link ClusterSegment} needs from the postmaster.
 *
 * @example
 * ```ts
 * import type { ClusterSegmentHost } from "./shared_memory.ts";
 * import { runtimeSharedMemory } from "../../runtimes/shared/shared_memory.ts";
 * const host: ClusterSegmentHost = { pid: 42, loadMapper: runtimeSharedMemory, processExists: () => true, atExit: () => () => {}, log: console.log };
 * ```
 */
export interface ClusterSegmentHost {
  /** The postmaster's pid, part of every segment's name. */
  pid: number;
  /** The runtime's mapper; rejects, saying why, where there is none. */
  loadMapper(): Promise<SharedMemoryMapper>;
  /** Whether a process is alive, to tell a dead postmaster's segments from a live one's. */
  processExists(pid: number): boolean;
  /** Run a callback when the process exits without `stop()`; returns its cancel function. */
  atExit(callback: () => void): () => void;
  log(level: LogLevel, message: string): void;
  /**
   * The postmaster's slots, each of which gets a wait event word in the
   * segment. Without it, every slot `maxWorkerProcesses` may have gets one
   * (2 MiB of address space; the kernel backs only the pages written).
   */
  maxWorkerProcesses?: number;
}

/**
 * The cluster's one shared memory segment, from the requests to its removal.
 *
 * @example
 * ```ts
 * import { ClusterSegment, type ClusterSegmentHost } from "./shared_memory.ts";
 * declare const host: ClusterSegmentHost;
 * const shmem = new ClusterSegment(host);
 * shmem.requestAddinShmemSpace(8192);
 * await shmem.create();
 * const { buffer, found } = shmem.attachment("shmemInitStruct").initStruct("counters", 64);
 * ```
 */
export class ClusterSegment {
  readonly #host: ClusterSegmentHost;
  readonly #requests: ShmemRequests;
  /** Requests are taken until the segment is created (PostgreSQL's shmem_request_hook). */
  #closed = false;
  #mapper: SharedMemoryMapper | null = null;
  #attachment: SegmentAttachment | null = null;
  #unavailable = "the postmaster has not started yet: shared memory is created by start()";
  #serial = 0;
  #cancelAtExit: (() => void) | null = null;
  /** The descriptor that holds an unnamed segment; null for a named one. */
  #fd: number | null = null;

  /** @param host the postmaster's pid, the runtime's mapper and its logger */
  constructor(host: ClusterSegmentHost) {
    this.#host = host;
    this.#requests = {
      addinBytes: 0,
      tranches: new Map(),
      waitEventSlots: host.maxWorkerProcesses ?? MAX_WORKER_SLOTS,
    };
  }

  /** PostgreSQL's `RequestAddinShmemSpace`: reserve bytes for named structs. */
  requestAddinShmemSpace(bytes: number): void {
    this.#checkOpen("requestAddinShmemSpace", "shared memory");
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(`requestAddinShmemSpace(bytes): bytes must be a non-negative integer; got ${String(bytes)}`);
    }
    this.#checkSize("requestAddinShmemSpace", { ...this.#requests, addinBytes: this.#requests.addinBytes + bytes });
    this.#requests.addinBytes += bytes;
  }

  /** PostgreSQL's `RequestNamedLWLockTranche`: `count` locks, found later under `name`. */
  requestNamedLWLockTranche(name: string, count: number): void {
    this.#checkOpen("requestNamedLWLockTranche", "LWLocks");
    const length = typeof name === "string" ? utf8Encode(name).length : 0;
    if (length === 0 || length > 63) {
      throw new RangeError(
        `requestNamedLWLockTranche(name, count): name must be a string of 1 to 63 UTF-8 bytes; got ${
          JSON.stringify(name)
        }`,
      );
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_TRANCHE_LOCKS) {
      throw new RangeError(
        `requestNamedLWLockTranche("${name}", count): count must be an integer from 1 to ${MAX_TRANCHE_LOCKS}; got ${
          String(count)
        }`,
      );
    }
    if (this.#requests.tranches.has(name)) {
      throw new Error(`requestNamedLWLockTranche("${name}"): a tranche of that name was already requested`);
    }
    if (this.#requests.tranches.size >= MAX_ENTRIES) {
      throw new RangeError(`requestNamedLWLockTranche("${name}"): at most ${MAX_ENTRIES} tranches`);
    }
    const tranches = new Map(this.#requests.tranches).set(name, count);
    this.#checkSize("requestNamedLWLockTranche", { ...this.#requests, tranches });
    this.#requests.tranches.set(name, count);
  }

  /**
   * Create the segment (at start). Without requests, a runtime that cannot
   * map shared memory is not an error: workers that use it are told why.
   * With requests it is, as the requests could not be honoured.
   */
  async create(): Promise<void> {
    this.#closed = true;
    try {
      this.#mapper = await this.#host.loadMapper();
      this.#removeLeftovers();
      this.#makeSegment();
    } catch (error) {
      this.#unavailable = `shared memory is not available: ${errorText(error)}`;
      if (this.#requests.addinBytes > 0 || this.#requests.tranches.size > 0) {
        this.#closed = false;
        throw new Error(`could not create the shared memory that _PG_init requested: ${this.#unavailable}`, {
          cause: error,
        });
      }
    }
  }

  /** After a crash, with every process that mapped it gone: a new zeroed segment replaces the old one. */
  reinitialize(): void {
    if (!this.#attachment) return;
    this.remove();
    try {
      this.#makeSegment();
    } catch (error) {
      this.#unavailable = `shared memory is not available: could not be recreated after a crash: ${errorText(error)}`;
      this.#host.log("LOG", this.#unavailable);
    }
  }

  /** Unlink the segment (at stop). Mappings stay valid in the processes that hold them. */
  remove(): void {
    const attachment = this.#attachment;
    if (!attachment) return;
    this.#attachment = null;
    this.#unavailable = "shared memory was removed: the postmaster has stopped";
    this.#cancelAtExit?.();
    this.#cancelAtExit = null;
    ownedHere.delete(attachment.location.name);
    try {
      if (this.#fd !== null) this.#mapper!.closeDescriptor?.(this.#fd);
      else this.#mapper!.unlink(attachment.location.name);
      this.#fd = null;
    } catch (error) {
      this.#host.log("WARNING", `could not remove shared memory segment: ${errorText(error)}`);
    }
  }

  /** What a worker with the flag is told at start. */
  forWorker(): WorkerSharedMemory {
    return this.#attachment ? this.#attachment.location : { unavailable: this.#unavailable };
  }

  /**
   * The wait event the process `pid` in worker slot `slot` is in, as its
   * word in the segment says: a name given to `waitEventExtensionNew`,
   * "Extension", or null when it is not waiting, has not published one
   * (no shared memory), or the word is an earlier process's.
   */
  waitEventOf(slot: number, pid: number): string | null {
    const table = this.#attachment?.waitEvents;
    return table ? table.describe(table.current(slot, pid)) : null;
  }

  /** The segment's size and the bytes used in it, or null while there is no segment. */
  usage(): { sizeBytes: number; usedBytes: number } | null {
    return this.#attachment?.usage() ?? null;
  }

  /** The postmaster's own mapping, or an error saying why there is none. */
  attachment(caller: string): SegmentAttachment {
    if (!this.#attachment) throw new Error(`${caller}: ${this.#unavailable}`);
    return this.#attachment;
  }

  #makeSegment(): void {
    const mapper = this.#mapper!;
    const size = segmentSize(this.#requests);
    for (;;) {
      const name = `/bgworker.${this.#host.pid}.${++this.#serial}`;
      let whole: ArrayBuffer;
      let location = { name, size };
      try {
        if (mapper.createUnnamed) {
          // Nothing stays named: workers map it through this process's descriptor, and a SIGKILL leaves nothing behind.
          const made = mapper.createUnnamed(name, size);
          whole = made.buffer;
          this.#fd = made.fd;
          location = { name: descriptorPath(this.#host.pid, made.fd), size };
        } else {
          whole = mapper.create(name, size);
        }
      } catch (error) {
        // Another postmaster in this process, or a leftover of an earlier process with this pid.
        if (error instanceof SharedMemoryError && error.errno === LINUX.EEXIST) continue;
        throw error;
      }
      initializeSegment(whole, this.#requests);
      this.#attachment = new SegmentAttachment(mapper, location, whole);
      if (this.#fd === null) {
        ownedHere.add(name);
        // An application that exits without stop() still takes its named segment along (a SIGKILL cannot).
        this.#cancelAtExit = this.#host.atExit(() => this.remove());
      }
      return;
    }
  }

  /** Unlink segments whose postmaster is gone (killed before it could remove them). */
  #removeLeftovers(): void {
    for (const name of this.#mapper!.list()) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      const gone = pid === this.#host.pid ? !ownedHere.has(name) : !this.#host.processExists(pid);
      if (!gone) continue;
      try {
        this.#mapper!.unlink(name);
        this.#host.log("LOG", `removed shared memory segment "${name}" left by a postmaster (PID ${pid}) that is gone`);
      } catch {
        // Another user's segment, or removed meanwhile: not ours to worry about.
      }
    }
  }

  #checkOpen(caller: string, what: string): void {
    if (this.#closed) {
      throw new Error(
        `cannot request additional ${what} outside _PG_init: call ${caller}() before start() or from a _PG_init()`,
      );
    }
  }

  #checkSize(caller: string, requests: ShmemRequests): void {
    if (segmentSize(requests) > MAX_SEGMENT_BYTES) {
      throw new RangeError(`${caller}: the shared memory segment would exceed ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}
