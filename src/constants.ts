/**
 * PostgreSQL's background worker constants, with the names and values of
 * `src/include/postmaster/bgworker.h`, `bgworker_internals.h` and `latch.h`.
 *
 * Values must match PostgreSQL's: code ported from C extensions compares
 * against the numbers, not only the names.
 *
 * @module
 */

/** Longest `bgw_name`, `bgw_type` and `bgw_function_name`, in bytes, counting PostgreSQL's terminating NUL.
 *
 * @example
 * ```ts
 * import { BGW_MAXLEN } from "./constants.ts";
 * const fits = new TextEncoder().encode("my worker").length <= BGW_MAXLEN - 1;
 * ```
 */
export const BGW_MAXLEN = 96;

/** Size of `bgw_extra`, in bytes.
 *
 * @example
 * ```ts
 * import { BGW_EXTRALEN } from "./constants.ts";
 * const extra = new Uint8Array(BGW_EXTRALEN);
 * ```
 */
export const BGW_EXTRALEN = 128;

/** Longest `bgw_library_name`, in bytes, counting the NUL (PostgreSQL's MAXPGPATH).
 *
 * @example
 * ```ts
 * import { MAXPGPATH } from "./constants.ts";
 * console.log(MAXPGPATH); // 1024
 * ```
 */
export const MAXPGPATH = 1024;

/** `bgw_restart_time` value meaning "never restart after exit code 1 or a crash".
 *
 * @example
 * ```ts
 * import { BGW_NEVER_RESTART } from "./constants.ts";
 * const worker = { bgw_restart_time: BGW_NEVER_RESTART };
 * ```
 */
export const BGW_NEVER_RESTART: -1 = -1;

/** PostgreSQL's customary restart interval, in seconds.
 *
 * @example
 * ```ts
 * import { BGW_DEFAULT_RESTART_INTERVAL } from "./constants.ts";
 * const worker = { bgw_restart_time: BGW_DEFAULT_RESTART_INTERVAL };
 * ```
 */
export const BGW_DEFAULT_RESTART_INTERVAL = 60;

/** `bgw_flags` bit: the worker attaches to shared memory; its crash reinitializes the cluster.
 *
 * @example
 * ```ts
 * import { BGWORKER_SHMEM_ACCESS } from "./constants.ts";
 * const worker = { bgw_flags: BGWORKER_SHMEM_ACCESS };
 * ```
 */
export const BGWORKER_SHMEM_ACCESS = 0x0001;

/** `bgw_flags` bit: the worker will connect to a database (requires {@link BGWORKER_SHMEM_ACCESS}).
 *
 * @example
 * ```ts
 * import { BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS } from "./constants.ts";
 * const worker = { bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION };
 * ```
 */
export const BGWORKER_BACKEND_DATABASE_CONNECTION = 0x0002;

/**
 * `bgw_flags` bit (PostgreSQL 19): the worker may be terminated so that a
 * command needing its database alone can run: `CREATE DATABASE … TEMPLATE`,
 * `ALTER DATABASE … RENAME TO`, `ALTER DATABASE … SET TABLESPACE` and `DROP
 * DATABASE`. Requires {@link BGWORKER_BACKEND_DATABASE_CONNECTION}.
 *
 * @example
 * ```ts
 * import { BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_INTERRUPTIBLE, BGWORKER_SHMEM_ACCESS } from "./constants.ts";
 * const worker = { bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_INTERRUPTIBLE };
 * ```
 */
export const BGWORKER_INTERRUPTIBLE = 0x0004;

/** Connection flag: connect even to a database with `datallowconn = false`.
 *
 * @example
 * ```ts
 * import { BGWORKER_BYPASS_ALLOWCONN } from "./constants.ts";
 * const flags = BGWORKER_BYPASS_ALLOWCONN;
 * ```
 */
export const BGWORKER_BYPASS_ALLOWCONN = 0x0001;

/** Connection flag: connect even as a role without LOGIN.
 *
 * @example
 * ```ts
 * import { BGWORKER_BYPASS_ROLELOGINCHECK } from "./constants.ts";
 * const flags = BGWORKER_BYPASS_ROLELOGINCHECK;
 * ```
 */
export const BGWORKER_BYPASS_ROLELOGINCHECK = 0x0002;

/** `bgw_start_time`: start as soon as the postmaster starts.
 *
 * @example
 * ```ts
 * import { BgWorkerStart_PostmasterStart } from "./constants.ts";
 * const worker = { bgw_start_time: BgWorkerStart_PostmasterStart };
 * ```
 */
export const BgWorkerStart_PostmasterStart = 0;

/** `bgw_start_time`: start once hot standby accepts read-only work, or at normal running.
 *
 * @example
 * ```ts
 * import { BgWorkerStart_ConsistentState } from "./constants.ts";
 * const worker = { bgw_start_time: BgWorkerStart_ConsistentState };
 * ```
 */
export const BgWorkerStart_ConsistentState = 1;

/** `bgw_start_time`: start once recovery has finished (normal running).
 *
 * @example
 * ```ts
 * import { BgWorkerStart_RecoveryFinished } from "./constants.ts";
 * const worker = { bgw_start_time: BgWorkerStart_RecoveryFinished };
 * ```
 */
export const BgWorkerStart_RecoveryFinished = 2;

/** Handle status: the worker is running; its pid is given.
 *
 * @example
 * ```ts
 * import { BGWH_STARTED } from "./constants.ts";
 * const running = (status: number) => status === BGWH_STARTED;
 * ```
 */
export const BGWH_STARTED = 0;

/** Handle status: registered, not started yet.
 *
 * @example
 * ```ts
 * import { BGWH_NOT_YET_STARTED } from "./constants.ts";
 * const waiting = (status: number) => status === BGWH_NOT_YET_STARTED;
 * ```
 */
export const BGWH_NOT_YET_STARTED = 1;

/** Handle status: gone, waiting for its restart, or the handle's slot was reused.
 *
 * @example
 * ```ts
 * import { BGWH_STOPPED } from "./constants.ts";
 * const gone = (status: number) => status === BGWH_STOPPED;
 * ```
 */
export const BGWH_STOPPED = 2;

/** Handle status: the postmaster died (or was stopped) before the answer was known.
 *
 * @example
 * ```ts
 * import { BGWH_POSTMASTER_DIED } from "./constants.ts";
 * const orphaned = (status: number) => status === BGWH_POSTMASTER_DIED;
 * ```
 */
export const BGWH_POSTMASTER_DIED = 3;

/** `waitLatch` event: the latch was set.
 *
 * @example
 * ```ts
 * import { WL_LATCH_SET } from "./constants.ts";
 * const woke = (events: number) => (events & WL_LATCH_SET) !== 0;
 * ```
 */
export const WL_LATCH_SET = 1;

/** `waitLatch` event: the timeout elapsed.
 *
 * @example
 * ```ts
 * import { WL_TIMEOUT } from "./constants.ts";
 * const timedOut = (events: number) => (events & WL_TIMEOUT) !== 0;
 * ```
 */
export const WL_TIMEOUT = 8;

/** `waitLatch` event: the postmaster is gone.
 *
 * @example
 * ```ts
 * import { WL_POSTMASTER_DEATH } from "./constants.ts";
 * const orphaned = (events: number) => (events & WL_POSTMASTER_DEATH) !== 0;
 * ```
 */
export const WL_POSTMASTER_DEATH = 16;

/** `waitLatch` flag: exit at once (code 1) when the postmaster is gone.
 *
 * @example
 * ```ts
 * import { WL_EXIT_ON_PM_DEATH, WL_LATCH_SET } from "./constants.ts";
 * const events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
 * ```
 */
export const WL_EXIT_ON_PM_DEATH = 32;
