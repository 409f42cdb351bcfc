/**
 * The state of a worker process, in one place. It lives on `globalThis`
 * under a registered symbol so that two copies of bgworker in one process
 * (say, the bootstrap's and the user's, resolved through different paths)
 * still share one `myBgworkerEntry` and one `myLatch`.
 *
 * @module
 */

import type { WorkerDatabase } from "../protocol.ts";
import type { SegmentAttachment } from "../shmem/attachment.ts";
import { releaseAllLWLocks } from "../shmem/lwlock.ts";
import type { SignalName } from "../signal_names.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import type { WorkerPort } from "./port.ts";

/**
 * A latch: a flag `setLatch` raises and `waitLatch` sleeps on.
 *
 * @example
 * ```ts
 * import { Latch, setLatch } from "bgworker/worker";
 * const latch = new Latch();
 * setLatch(latch);
 * ```
 */
export class Latch {
  /** Whether the latch is set. */
  isSet = false;
  /** Sleepers to wake when it is set. */
  readonly sleepers: Set<() => void> = new Set();
}

/** What a signal does in a worker: a function, bgworker's default, or nothing. */
export type SignalHandler = (() => void) | "default" | "ignore";

/** The latest notification about one handle, and its sequence number. */
export interface HandleNews {
  count: number;
  status: number;
  pid: number | null;
}

/**
 * Everything a worker process knows about itself.
 *
 * @example
 * ```ts
 * import { workerState } from "./state.ts";
 * const { entry } = workerState();
 * ```
 */
export interface WorkerState {
  port: WorkerPort | null;
  entry: BackgroundWorkerEntry | null;
  postmasterPid: number;
  postmasterDead: boolean;
  /** Sleepers that asked to hear of the postmaster's death. */
  deathWatchers: Set<() => void>;
  latch: Latch;
  signalsBlocked: boolean;
  pendingSignals: Set<SignalName>;
  handlers: Map<SignalName, SignalHandler>;
  /** Removes the SIGTERM listener, which the default SIGTERM handler does before it raises SIGTERM again (see signals.ts). */
  removeSigtermListener: (() => void) | null;
  nextRequestId: number;
  requests: Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>;
  /** Notifications received so far; each `HandleNews.count` is this counter when it came. */
  newsSeq: number;
  news: Map<string, HandleNews>;
  newsWatchers: Set<() => void>;
  /** The cluster's shared memory, mapped at start for a worker with `BGWORKER_SHMEM_ACCESS`. */
  shmem: SegmentAttachment | null;
  /** Why `shmem` is null for a worker with the flag. */
  shmemUnavailable: string;
  /** The cluster a worker with the connection flag was given at start. */
  database: WorkerDatabase | null;
  /** `backgroundWorkerInitializeConnection` was called (it may be called once). */
  connectionInitialized: boolean;
}

const KEY = Symbol.for("bgworker.worker.state");

/**
 * The process's worker state, created on first use.
 *
 * @example
 * ```ts
 * import { workerState } from "./state.ts";
 * if (workerState().postmasterDead) console.log("orphaned");
 * ```
 */
export function workerState(): WorkerState {
  const global = globalThis as unknown as Record<symbol, WorkerState | undefined>;
  return global[KEY] ??= {
    port: null,
    entry: null,
    postmasterPid: 0,
    postmasterDead: false,
    deathWatchers: new Set(),
    latch: new Latch(),
    signalsBlocked: true,
    pendingSignals: new Set(),
    handlers: new Map(),
    removeSigtermListener: null,
    nextRequestId: 1,
    requests: new Map(),
    newsSeq: 0,
    news: new Map(),
    newsWatchers: new Set(),
    shmem: null,
    shmemUnavailable: "shared memory is not mapped yet",
    database: null,
    connectionInitialized: false,
  };
}

/**
 * The port, or an error saying this is not a worker process.
 *
 * @example
 * ```ts
 * import { requirePort } from "./state.ts";
 * const port = requirePort("myProcPid");
 * ```
 */
export function requirePort(caller: string): WorkerPort {
  const port = workerState().port;
  if (!port) throw new Error(`${caller}: not inside a background worker process (start this module through a Postmaster)`);
  return port;
}

/**
 * End the worker process with `code`, releasing the lightweight locks it
 * holds first (PostgreSQL's `LWLockReleaseAll` on the way out).
 *
 * @example
 * ```ts
 * import { exitWorker } from "./state.ts";
 * exitWorker(1);
 * ```
 */
export function exitWorker(code: number): never {
  const port = requirePort("procExit");
  releaseAllLWLocks();
  return port.exit(code);
}
