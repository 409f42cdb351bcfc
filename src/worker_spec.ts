/**
 * The `BackgroundWorker` struct: its type, its validation, and its by-value
 * encoding (what EXEC_BACKEND's `BackendParameters` is to PostgreSQL).
 *
 * @module
 */

import {
  BGW_EXTRALEN,
  BGW_MAXLEN,
  BGW_NEVER_RESTART,
  BgWorkerStart_PostmasterStart,
  BgWorkerStart_RecoveryFinished,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_SHMEM_ACCESS,
  MAXPGPATH,
} from "./constants.ts";
import { BackgroundWorkerError } from "./errors.ts";

/**
 * A start parameter passed by value: what fits in PostgreSQL's `Datum`.
 * Anything bigger goes in `bgw_extra` or shared memory.
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
  /** Name shown in logs and process titles; at most `BGW_MAXLEN - 1` bytes. */
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
 * import { validateBackgroundWorker } from "./worker_spec.ts";
 * const entry = validateBackgroundWorker(worker, { dynamic: true });
 * entry.bgw_type; // "counter 1" when bgw_type was not given
 * ```
 */
export interface BackgroundWorkerEntry {
  readonly bgw_name: string;
  readonly bgw_type: string;
  readonly bgw_flags: number;
  readonly bgw_start_time: 0 | 1 | 2;
  readonly bgw_restart_time: number;
  readonly bgw_library_name: string;
  readonly bgw_function_name: string;
  readonly bgw_main_arg: Datum;
  readonly bgw_extra: Uint8Array;
  readonly bgw_notify_pid: number;
}

/** Options of {@link validateBackgroundWorker}. */
export interface ValidateOptions {
  /** Dynamic registrations may ask for notifications; static ones may not. */
  dynamic: boolean;
}

const KNOWN_FIELDS = new Set([
  "bgw_name",
  "bgw_type",
  "bgw_flags",
  "bgw_start_time",
  "bgw_restart_time",
  "bgw_library_name",
  "bgw_function_name",
  "bgw_main_arg",
  "bgw_extra",
  "bgw_notify_pid",
]);

const KNOWN_FLAGS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;

/** PostgreSQL caps the interval at USECS_PER_DAY / 1000 seconds. */
const MAX_RESTART_SECONDS = 86_400_000;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Bytes the string takes in UTF-8, which is what PostgreSQL's fixed-size
 * `char` arrays count. Written out because `TextEncoder` is not ECMAScript.
 *
 * @example
 * ```ts
 * import { utf8ByteLength } from "./worker_spec.ts";
 * utf8ByteLength("é"); // 2
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * Check a registration as PostgreSQL's `SanityCheckBackgroundWorker` does,
 * plus the type checks C gets from its compiler, and return a frozen copy.
 * Throws {@link BackgroundWorkerError} naming the worker and the field.
 *
 * @example
 * ```ts
 * import { validateBackgroundWorker } from "./worker_spec.ts";
 * const entry = validateBackgroundWorker({
 *   bgw_name: "w", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
 *   bgw_library_name: "./w.ts", bgw_function_name: "main",
 * }, { dynamic: false });
 * ```
 */
export function validateBackgroundWorker(
  worker: unknown,
  options: ValidateOptions,
): BackgroundWorkerEntry {
  if (typeof worker !== "object" || worker === null || Array.isArray(worker)) {
    throw new BackgroundWorkerError("registration must be a BackgroundWorker object", {
      worker: "(unnamed)",
      code: "invalid_parameter_value",
      detail: `Got ${describe(worker)}.`,
    });
  }
  const w = worker as Record<string, unknown>;
  const name = typeof w.bgw_name === "string" && w.bgw_name !== "" ? w.bgw_name : "(unnamed)";
  const fail = (field: string, message: string, detail?: string): never => {
    throw new BackgroundWorkerError(message, {
      worker: name,
      field,
      code: "invalid_parameter_value",
      detail,
    });
  };

  for (const key of Object.keys(w)) {
    if (!KNOWN_FIELDS.has(key)) fail(key, `unknown field "${key}"`, "A BackgroundWorker has only PostgreSQL's bgw_* fields.");
  }

  const checkName = (field: string, required: boolean, limit = BGW_MAXLEN): string | undefined => {
    const value = w[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== "string" || value === "") fail(field, `${field} must be a non-empty string`, `Got ${describe(value)}.`);
    const text = value as string;
    if (text.includes("\0")) fail(field, `${field} must not contain a NUL character`);
    const bytes = utf8ByteLength(text);
    if (bytes > limit - 1) {
      fail(field, `${field} is too long`, `It is ${bytes} bytes; the limit is ${limit - 1} bytes (PostgreSQL would truncate it; bgworker refuses it).`);
    }
    return text;
  };
  checkName("bgw_name", true);
  const type = checkName("bgw_type", false) ?? name;
  const library = checkName("bgw_library_name", true, MAXPGPATH) as string;
  const fn = checkName("bgw_function_name", true) as string;

  const flags = w.bgw_flags;
  if (typeof flags !== "number" || !Number.isInteger(flags) || (flags & ~KNOWN_FLAGS) !== 0 || flags < 0) {
    fail("bgw_flags", "bgw_flags must be a combination of BGWORKER_SHMEM_ACCESS and BGWORKER_BACKEND_DATABASE_CONNECTION", `Got ${describe(flags)}.`);
  }
  const startTime = w.bgw_start_time;
  if (startTime !== 0 && startTime !== 1 && startTime !== 2) {
    fail("bgw_start_time", "bgw_start_time must be BgWorkerStart_PostmasterStart, BgWorkerStart_ConsistentState or BgWorkerStart_RecoveryFinished", `Got ${describe(startTime)}.`);
  }
  if ((flags as number) & BGWORKER_BACKEND_DATABASE_CONNECTION) {
    if (!((flags as number) & BGWORKER_SHMEM_ACCESS)) {
      fail("bgw_flags", "must attach to shared memory in order to request a database connection");
    }
    if (startTime === BgWorkerStart_PostmasterStart) {
      fail("bgw_start_time", "cannot request database access if starting at postmaster start");
    }
  }

  const restart = w.bgw_restart_time;
  if (
    typeof restart !== "number" || !Number.isFinite(restart) ||
    (restart < 0 && restart !== BGW_NEVER_RESTART) || restart > MAX_RESTART_SECONDS
  ) {
    fail("bgw_restart_time", "invalid restart interval", `bgw_restart_time must be 0 to ${MAX_RESTART_SECONDS} seconds or BGW_NEVER_RESTART; got ${describe(restart)}.`);
  }

  const mainArg = w.bgw_main_arg ?? null;
  checkDatum(mainArg, fail);

  const extraIn = w.bgw_extra;
  let extra = new Uint8Array(BGW_EXTRALEN);
  if (extraIn !== undefined) {
    if (!(extraIn instanceof Uint8Array)) fail("bgw_extra", "bgw_extra must be a Uint8Array", `Got ${describe(extraIn)}.`);
    const bytes = extraIn as Uint8Array;
    if (bytes.length > BGW_EXTRALEN) fail("bgw_extra", "bgw_extra is too long", `It is ${bytes.length} bytes; the limit is BGW_EXTRALEN (${BGW_EXTRALEN}) bytes.`);
    // A copy of the caller's bytes: registration takes the value, not the buffer.
    extra = new Uint8Array(BGW_EXTRALEN);
    extra.set(bytes);
  }

  const notify = w.bgw_notify_pid ?? 0;
  if (typeof notify !== "number" || !Number.isInteger(notify) || notify < 0) {
    fail("bgw_notify_pid", "bgw_notify_pid must be a process id or 0", `Got ${describe(notify)}.`);
  }
  if (notify !== 0 && !options.dynamic) {
    fail("bgw_notify_pid", "only dynamic background workers can request notification");
  }

  return Object.freeze({
    bgw_name: name,
    bgw_type: type,
    bgw_flags: flags as number,
    bgw_start_time: startTime as 0 | 1 | 2,
    bgw_restart_time: restart as number,
    bgw_library_name: library,
    bgw_function_name: fn,
    bgw_main_arg: mainArg as Datum,
    bgw_extra: extra,
    bgw_notify_pid: notify as number,
  });
}

function checkDatum(value: unknown, fail: (field: string, message: string, detail?: string) => never): void {
  if (value === null || typeof value === "number" || typeof value === "boolean") return;
  if (typeof value === "bigint") {
    if (value < INT64_MIN || value > UINT64_MAX) {
      fail("bgw_main_arg", "bgw_main_arg does not fit in a Datum", "A bigint Datum must fit in 64 bits.");
    }
    return;
  }
  fail(
    "bgw_main_arg",
    "bgw_main_arg must be passed by value",
    `Got ${describe(value)}; a Datum is a number, bigint, boolean or null. Pass it in bgw_extra or shared memory.`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  switch (typeof value) {
    case "string": return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
    case "number": case "bigint": case "boolean": return `${typeof value} ${String(value)}`;
    case "undefined": return "undefined";
    case "function": return "a function";
    case "symbol": return "a symbol";
    default: return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  }
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
  return entry.bgw_type === entry.bgw_name ? `bgworker: ${entry.bgw_name}` : `bgworker: ${entry.bgw_type} ${entry.bgw_name}`;
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

/**
 * Serialize a validated entry to a string, so that a child process rebuilds
 * its own copy of it (EXEC_BACKEND style) instead of sharing a reference.
 *
 * @example
 * ```ts
 * import { decodeWorkerEntry, encodeWorkerEntry } from "./worker_spec.ts";
 * const copy = decodeWorkerEntry(encodeWorkerEntry(entry));
 * ```
 */
export function encodeWorkerEntry(entry: BackgroundWorkerEntry): string {
  const arg = entry.bgw_main_arg;
  return JSON.stringify({
    ...entry,
    bgw_main_arg: typeof arg === "bigint" ? { bigint: arg.toString() } : arg,
    bgw_extra: toHex(entry.bgw_extra),
  });
}

/**
 * Rebuild an entry from {@link encodeWorkerEntry}'s output, validating it
 * again: the string crossed a process boundary.
 *
 * @example
 * ```ts
 * import { decodeWorkerEntry } from "./worker_spec.ts";
 * const entry = decodeWorkerEntry(encoded, { dynamic: true });
 * ```
 */
export function decodeWorkerEntry(encoded: string, options: ValidateOptions = { dynamic: true }): BackgroundWorkerEntry {
  return validateBackgroundWorker(reviveEntry(encoded), options);
}

/**
 * Rebuild the entry a worker process was started with, from its own
 * postmaster's {@link encodeWorkerEntry} output: already validated there, so
 * only copied and frozen here. This is on the path of every worker's start,
 * which a spare process makes a matter of a fraction of a millisecond.
 * Anything that comes from a worker goes through {@link decodeWorkerEntry}.
 *
 * @example
 * ```ts
 * import { rebuildWorkerEntry } from "./worker_spec.ts";
 * const myEntry = rebuildWorkerEntry(start.entry);
 * ```
 */
export function rebuildWorkerEntry(encoded: string): BackgroundWorkerEntry {
  const raw = reviveEntry(encoded);
  const extra = new Uint8Array(BGW_EXTRALEN);
  extra.set(raw.bgw_extra as Uint8Array);
  raw.bgw_extra = extra;
  return Object.freeze(raw) as unknown as BackgroundWorkerEntry;
}

function reviveEntry(encoded: string): Record<string, unknown> {
  const raw = JSON.parse(encoded) as Record<string, unknown>;
  const arg = raw.bgw_main_arg;
  if (typeof arg === "object" && arg !== null && typeof (arg as { bigint?: unknown }).bigint === "string") {
    raw.bgw_main_arg = BigInt((arg as { bigint: string }).bigint);
  }
  if (typeof raw.bgw_extra === "string") raw.bgw_extra = fromHex(raw.bgw_extra);
  return raw;
}

/** Hex of the bytes up to the last non-zero one: the zero padding of `bgw_extra` need not travel. */
function toHex(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let hex = "";
  for (let i = 0; i < end; i++) hex += bytes[i]!.toString(16).padStart(2, "0");
  return hex;
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
