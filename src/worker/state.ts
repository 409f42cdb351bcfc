/**
 * The state of a worker process, as data, in one place. It lives on
 * `globalThis` under a registered symbol so that two copies of bgworker in
 * one process (say, the bootstrap's and the user's, resolved through
 * different paths) still share one `myBgworkerEntry` and one `myLatch`.
 *
 * Whoever writes what others mirror (the port, the entry) does it with
 * `updateWorkerState`, which tells the subscribers of `onWorkerStateChange`:
 * that is how the public bindings learn of the start, without the start
 * path importing the public API.
 *
 * @module
 */

import type { BackgroundWorkerHandle } from "../handle.ts";
import type { WorkerClusterPlacement, WorkerDatabase } from "../protocol.ts";
import type { SegmentAttachment } from "../shmem/attachment.ts";
import type { WaitEventTable } from "../shmem/wait_event_table.ts";
import { releaseAllLWLocks, watchLWLockHolding } from "../shmem/lwlock.ts";
import type { SignalName } from "../signal_names.ts";
import type { BackgroundWorkerEntry } from "../worker_spec.ts";
import { Latch } from "./latch.ts";
import type { WorkerPort } from "./port.ts";
import type { SignalHandler } from "./signals.ts";

/**
 * The latest notification about one handle, and its sequence number.
 *
 * @example
 * ```ts
 * import type { HandleNews } from "./state.ts";
 * const news: HandleNews = { count: 1, status: 0, pid: 4242 };
 * ```
 */
export interface HandleNews {
  count: number;
  status: number;
  pid: number | null;
}

/**
 * How SIGTERM reaches the process: through the listener the bootstrap
 * installed, or by the kernel's default action (see sigterm_route.ts).
 *
 * @example
 * ```ts
 * import { workerState } from "./state.ts";
 * const { sigterm } = workerState();
 * const byKernel = sigterm.listener !== null && sigterm.remove === null && !sigterm.ending;
 * ```
 */
export interface SigtermRoute {
  /** The listener the bootstrap installed, kept to install it again; null outside a worker process. */
  listener: (() => void) | null;
  /** Removes the listener; null while none is installed. */
  remove: (() => void) | null;
  /** The listener was removed once for the kernel's action: a SIGTERM caught just before may have been dropped. */
  leftToKernel: boolean;
  /** The default handler ran: the process ends by the signal, and the route changes no more. */
  ending: boolean;
  /** SIGTERMs given to this process's handlers (held ones included). */
  delivered: number;
  /** A return to the kernel's action is scheduled (after the event loop's next poll, or the last LWLock's release). */
  scheduled: boolean;
  /** The postmaster announced a SIGTERM: the listener stays, so that one reaches the handlers. */
  announced: boolean;
}

/**
 * Told of every `updateWorkerState`, with the state after it.
 *
 * @example
 * ```ts
 * import type { WorkerStateListener } from "./state.ts";
 * const log: WorkerStateListener = (state) => console.log(state.entry?.bgw_name);
 * ```
 */
export type WorkerStateListener = (state: Readonly<WorkerState>) => void;

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
  /** This worker's own registration, as a handle. */
  handle: BackgroundWorkerHandle | null;
  postmasterPid: number;
  postmasterDead: boolean;
  /** The first exit code asked for; once set, the process is on its way out and a throw on the way is not news. */
  exitCode: number | null;
  /** Sleepers that asked to hear of the postmaster's death. */
  deathWatchers: Set<() => void>;
  latch: Latch;
  signalsBlocked: boolean;
  pendingSignals: Set<SignalName>;
  handlers: Map<SignalName, SignalHandler>;
  /** How SIGTERM reaches the process (see sigterm_route.ts). */
  sigterm: SigtermRoute;
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
  /** Where this worker publishes the wait event it is in: its slot's word in shared memory; null without shared memory. */
  waitEventStorage: { table: WaitEventTable; slot: number } | null;
  /** The wait event info `waitEventExtensionNew` gave each name in this process. */
  waitEventIds: Map<string, number>;
  /** The wait events of the `waitLatch` calls in progress, oldest first; the newest is the one published. */
  waitsInProgress: { info: number }[];
  /** The cluster a worker with the connection flag was given at start. */
  database: WorkerDatabase | null;
  /** Where a cluster worker was placed (`registerClusterWorker`); null for a local worker. */
  cluster: WorkerClusterPlacement | null;
  /** `backgroundWorkerInitializeConnection` was called (it may be called once). */
  connectionInitialized: boolean;
  /** Subscribers of `onWorkerStateChange`: every loaded copy of the modules that mirror the state. */
  listeners: Set<WorkerStateListener>;
}

const KEY = Symbol.for("bgworker.worker.state");

/** A state as a process starts with; the latch and the listeners are given, as a reset keeps them. */
function initialState(latch: Latch, listeners: Set<WorkerStateListener>): WorkerState {
  return {
    port: null,
    entry: null,
    handle: null,
    cluster: null,
    postmasterPid: 0,
    postmasterDead: false,
    exitCode: null,
    deathWatchers: new Set(),
    latch,
    signalsBlocked: true,
    pendingSignals: new Set(),
    handlers: new Map(),
    sigterm: {
      listener: null,
      remove: null,
      leftToKernel: false,
      ending: false,
      delivered: 0,
      scheduled: false,
      announced: false,
    },
    nextRequestId: 1,
    requests: new Map(),
    newsSeq: 0,
    news: new Map(),
    newsWatchers: new Set(),
    shmem: null,
    shmemUnavailable: "shared memory is not mapped yet",
    waitEventStorage: null,
    waitEventIds: new Map(),
    waitsInProgress: [],
    database: null,
    connectionInitialized: false,
    listeners,
  };
}

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
  return global[KEY] ??= initialState(new Latch(), new Set());
}

/**
 * Write fields that other modules mirror, then tell them. The start path
 * writes the state through this and knows nothing of who listens.
 *
 * @example
 * ```ts
 * import type { BackgroundWorkerEntry } from "bgworker/worker";
 * import { updateWorkerState } from "./state.ts";
 * declare const entry: BackgroundWorkerEntry; // rebuilt from the start message
 * updateWorkerState({ entry, postmasterPid: 4242 });
 * ```
 */
export function updateWorkerState(
  changes: Partial<Pick<WorkerState, "port" | "entry" | "handle" | "postmasterPid" | "database" | "cluster">>,
): void {
  const state = Object.assign(workerState(), changes);
  // A copy: a listener may unsubscribe while it is told.
  for (const listener of [...state.listeners]) listener(state);
}

/**
 * Be told of every `updateWorkerState` from now on; returns the function
 * that stops it. The public bindings (`myBgworkerEntry`, `myProcPid`)
 * refresh themselves this way.
 *
 * @example
 * ```ts
 * import { onWorkerStateChange } from "./state.ts";
 * let name: string | null = null;
 * const stop = onWorkerStateChange((state) => name = state.entry?.bgw_name ?? null);
 * stop();
 * ```
 */
export function onWorkerStateChange(listener: WorkerStateListener): () => void {
  const { listeners } = workerState();
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/**
 * For tests only: give the process a fresh worker state, as a new process
 * has it, so each test starts clean although the state is process-wide.
 * The state is a new object, so code of an earlier test still running
 * keeps the old one; the latch object (a loaded module holds it as
 * `myLatch`) and the subscribers (loaded modules) carry over, the latch
 * cleared, and the subscribers are told. No LWLock watcher is left over
 * (sigterm_route.ts sets one).
 *
 * @example
 * ```ts
 * import { beforeEach } from "node:test";
 * import { resetWorkerStateForTests } from "./state.ts";
 * beforeEach(() => resetWorkerStateForTests());
 * ```
 */
export function resetWorkerStateForTests(): void {
  const { latch, listeners } = workerState();
  latch.isSet = false;
  latch.sleepers.clear();
  watchLWLockHolding(null);
  (globalThis as unknown as Record<symbol, WorkerState>)[KEY] = initialState(latch, listeners);
  updateWorkerState({});
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
  if (!port) {
    throw new Error(`${caller}: not inside a background worker process (start this module through a Postmaster)`);
  }
  return port;
}

/**
 * End the process with `code` at once, as `_exit` does: no cleanup. The
 * code is recorded first, so a throw on the way out (on a runtime whose
 * exit waits for pending messages) is known not to be the worker's error.
 *
 * @example
 * ```ts
 * import { endProcess, requirePort } from "./state.ts";
 * endProcess(requirePort("SIGQUIT"), 2);
 * ```
 */
export function endProcess(port: WorkerPort, code: number): never {
  const state = workerState();
  state.exitCode ??= code;
  return port.exit(code);
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
  return endProcess(port, code);
}
