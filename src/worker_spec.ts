/**
 * The `BackgroundWorker` struct: its type, and the one import for
 * everything about it. Validation lives in `worker_validation.ts`, the
 * by-value encoding (what EXEC_BACKEND's `BackendParameters` is to
 * PostgreSQL) in `worker_entry.ts`, and UTF-8 in `utf8.ts`; they are
 * re-exported here under the names they always had.
 *
 * @module
 */

import { BgWorkerStart_PostmasterStart, BgWorkerStart_RecoveryFinished } from "./constants.ts";

export { utf8ByteLength } from "./utf8.ts";
export { validateBackgroundWorker, type ValidateOptions } from "./worker_validation.ts";
export { decodeWorkerEntry, encodeWorkerEntry, rebuildWorkerEntry } from "./worker_entry.ts";

/**
 * A start parameter passed by value: what fits in PostgreSQL's `Datum`.
 * Anything bigger goes in `bgw_extra` or shared memory. Every value reaches
 * the worker exactly, NaN, ±Infinity and -0 included.
 *
 * @example
 * ```ts
 * import type { Datum } from "./worker_spec.ts";
 * const arg: Datum = 42n;
 * ```
 */
export type Datum = number | bigint | boolean | null;

/**
 * A background worker's registration, with PostgreSQL's field names.
 *
 * @example
 * ```ts
 * import type { BackgroundWorker } from "./worker_spec.ts";
 * const worker: BackgroundWorker = {
 *   bgw_name: "counter 1",
 *   bgw_flags: 0,
 *   bgw_start_time: 0,
 *   bgw_restart_time: 5,
 *   bgw_library_name: "./workers/counter.ts",
 *   bgw_function_name: "counterMain",
 *   bgw_main_arg: 1,
 * };
 * ```
 */
export interface BackgroundWorker {
  /** Name shown in logs and process titles; at most `BGW_MAXLEN - 1` bytes of well-formed text. */
  bgw_name: string;
  /** Kind of worker, shown in logs; defaults to `bgw_name`. */
  bgw_type?: string;
  /** `BGWORKER_SHMEM_ACCESS` and `BGWORKER_BACKEND_DATABASE_CONNECTION`. */
  bgw_flags: number;
  /** `BgWorkerStart_PostmasterStart`, `_ConsistentState` or `_RecoveryFinished`. */
  bgw_start_time: 0 | 1 | 2;
  /** Seconds to wait before a restart after exit code 1, or `BGW_NEVER_RESTART`. */
  bgw_restart_time: number;
  /** The module to import: path, `file:` URL, or a bare name found in `dynamicLibraryPath`. */
  bgw_library_name: string;
  /** The exported function of that module to run. */
  bgw_function_name: string;
  /** Passed to the function, by value. */
  bgw_main_arg?: Datum;
  /** Up to `BGW_EXTRALEN` bytes the worker reads from `myBgworkerEntry`. */
  bgw_extra?: Uint8Array;
  /** Process to tell when the worker starts and stops (dynamic workers only). */
  bgw_notify_pid?: number;
}

/**
 * A validated registration: every optional field filled in, the whole of it
 * frozen, and `bgw_extra` a private copy. Nothing the caller keeps can
 * change it afterwards.
 *
 * @example
 * ```ts
 * import { type BackgroundWorker, validateBackgroundWorker } from "./worker_spec.ts";
 * declare const worker: BackgroundWorker;
 * const entry = validateBackgroundWorker(worker, { dynamic: true });
 * entry.bgw_type; // "counter 1" when bgw_type was not given
 * ```
 */
export interface BackgroundWorkerEntry {
  /** As registered: well-formed, at most `BGW_MAXLEN - 1` UTF-8 bytes. */
  readonly bgw_name: string;
  /** As registered, or `bgw_name` when it was not given. */
  readonly bgw_type: string;
  /** As registered. */
  readonly bgw_flags: number;
  /** As registered. */
  readonly bgw_start_time: 0 | 1 | 2;
  /** As registered, in seconds, or `BGW_NEVER_RESTART`. */
  readonly bgw_restart_time: number;
  /** As registered, before it is resolved to a module. */
  readonly bgw_library_name: string;
  /** As registered. */
  readonly bgw_function_name: string;
  /** As registered, exactly (NaN and -0 included), or null when it was not given. */
  readonly bgw_main_arg: Datum;
  /** Always `BGW_EXTRALEN` bytes: the registered ones, then zeros, as PostgreSQL's `char[BGW_EXTRALEN]`. */
  readonly bgw_extra: Uint8Array;
  /** As registered, or 0 when it was not given. */
  readonly bgw_notify_pid: number;
}

/**
 * The title a worker's process shows in `ps`: its type and name, never its
 * start parameters (which may hold secrets).
 *
 * @example
 * ```ts
 * import { processTitle } from "./worker_spec.ts";
 * processTitle({ bgw_name: "mover 1", bgw_type: "mover" }); // "bgworker: mover mover 1"
 * ```
 */
export function processTitle(entry: Pick<BackgroundWorkerEntry, "bgw_name" | "bgw_type">): string {
  return entry.bgw_type === entry.bgw_name
    ? `bgworker: ${entry.bgw_name}`
    : `bgworker: ${entry.bgw_type} ${entry.bgw_name}`;
}

/**
 * Returns true when the entry's start time has come in the given cluster state.
 *
 * @example
 * ```ts
 * import { isStartTimeReached } from "./worker_spec.ts";
 * isStartTimeReached(1, "hot_standby"); // true
 * ```
 */
export function isStartTimeReached(
  startTime: 0 | 1 | 2,
  clusterState: "recovery" | "hot_standby" | "run",
): boolean {
  if (clusterState === "run") return true;
  if (clusterState === "hot_standby") return startTime < BgWorkerStart_RecoveryFinished;
  return startTime === BgWorkerStart_PostmasterStart;
}
