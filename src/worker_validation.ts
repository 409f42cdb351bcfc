/**
 * Validation of a `BackgroundWorker` registration: PostgreSQL's
 * `SanityCheckBackgroundWorker`, plus the checks C gets from its compiler.
 * The registration is read once, into a snapshot, and only the snapshot is
 * checked and kept: a getter or a Proxy cannot show validation one value
 * and the slot another.
 *
 * @module
 */

import {
  BGW_EXTRALEN,
  BGW_MAXLEN,
  BGW_NEVER_RESTART,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_INTERRUPTIBLE,
  BGWORKER_SHMEM_ACCESS,
  BgWorkerStart_PostmasterStart,
  MAXPGPATH,
} from "./constants.ts";
import { BackgroundWorkerError, errorText } from "./errors.ts";
import { isWellFormedUtf16, toWellFormedUtf16, utf8ByteLength } from "./utf8.ts";
import type { BackgroundWorker, BackgroundWorkerEntry, Datum } from "./worker_spec.ts";

/**
 * Options of {@link validateBackgroundWorker}.
 *
 * @example
 * ```ts
 * import type { ValidateOptions } from "./worker_validation.ts";
 * const fromAWorker: ValidateOptions = { dynamic: true };
 * ```
 */
export interface ValidateOptions {
  /** Dynamic registrations may ask for notifications; static ones may not. */
  dynamic: boolean;
}

/** Every field of a registration, in the order the snapshot reads them. */
const FIELDS = [
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
] as const satisfies readonly (keyof BackgroundWorker)[];
type Snapshot = Record<(typeof FIELDS)[number], unknown>;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(FIELDS);

const KNOWN_FLAGS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION | BGWORKER_INTERRUPTIBLE;

/** PostgreSQL caps the interval at USECS_PER_DAY / 1000 seconds. */
const MAX_RESTART_SECONDS = 86_400_000;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Most characters of a refused value an error quotes: a 1 MB name must not make a 1 MB message. */
const QUOTE_LIMIT = 80;

// The intrinsic getters of %TypedArray%.prototype read a typed array's internal
// slots: no Proxy trap, subclass getter or own property can answer for them.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsicGetter = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayPrototype, key)!.get!;
const typedArrayTag = intrinsicGetter(Symbol.toStringTag) as (this: unknown) => string | undefined;
const typedArrayLength = intrinsicGetter("length") as (this: Uint8Array) => number;

/** A genuine Uint8Array (a subclass such as Node's Buffer included), never a look-alike. */
function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayTag.call(value) === "Uint8Array";
}

/** At most {@link QUOTE_LIMIT} characters of `text`, never half of a surrogate pair. */
function clip(text: string): string {
  if (text.length <= QUOTE_LIMIT) return text;
  const last = text.charCodeAt(QUOTE_LIMIT - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? QUOTE_LIMIT - 1 : QUOTE_LIMIT) + "…";
}

/**
 * At most about 80 characters of `text`, with lone surrogates replaced by
 * U+FFFD: what an error may quote of a refused value, since a 1 MB name
 * must not make a 1 MB message, and the message must itself travel.
 *
 * @example
 * ```ts
 * import { quoteText } from "./worker_validation.ts";
 * quoteText("x".repeat(1000)).length; // 81: 80 characters and "…"
 * quoteText("a\ud800"); // "a\ufffd"
 * ```
 */
export function quoteText(text: string): string {
  return toWellFormedUtf16(clip(text));
}

/**
 * Check a registration as PostgreSQL's `SanityCheckBackgroundWorker` does,
 * plus the type checks C gets from its compiler, and return a frozen copy.
 * Each field is read exactly once. Throws {@link BackgroundWorkerError}
 * naming the worker and the field, and nothing else.
 *
 * @example
 * ```ts
 * import { validateBackgroundWorker } from "./worker_validation.ts";
 * const entry = validateBackgroundWorker({
 *   bgw_name: "w", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1,
 *   bgw_library_name: "./w.ts", bgw_function_name: "main",
 * }, { dynamic: false });
 * ```
 */
export function validateBackgroundWorker(worker: unknown, options: ValidateOptions): BackgroundWorkerEntry {
  const { fields: w, unknownField } = snapshot(worker);
  const name = workerName(w.bgw_name);
  const fail = (field: string, message: string, detail?: string): never => {
    throw new BackgroundWorkerError(message, { worker: name, field, code: "invalid_parameter_value", detail });
  };

  if (unknownField !== undefined) {
    const key = quoteText(unknownField);
    fail(key, `unknown field ${JSON.stringify(key)}`, "A BackgroundWorker has only PostgreSQL's bgw_* fields.");
  }

  const checkName = (field: keyof Snapshot, required: boolean, limit = BGW_MAXLEN): string | undefined => {
    const value = w[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== "string" || value === "") {
      return fail(field, `${field} must be a non-empty string`, `Got ${describe(value)}.`);
    }
    if (value.includes("\0")) fail(field, `${field} must not contain a NUL character`);
    if (!isWellFormedUtf16(value)) {
      fail(
        field,
        `${field} must be well-formed UTF-16`,
        `It holds a lone surrogate, which has no UTF-8 form and could not reach the worker unchanged; got ${
          describe(value)
        }.`,
      );
    }
    const bytes = utf8ByteLength(value);
    if (bytes > limit - 1) {
      fail(
        field,
        `${field} is too long`,
        `It is ${bytes} bytes; the limit is ${limit - 1} bytes (PostgreSQL would truncate it; bgworker refuses it).`,
      );
    }
    return value;
  };
  const bgwName = checkName("bgw_name", true) as string;
  const type = checkName("bgw_type", false) ?? bgwName;
  const library = checkName("bgw_library_name", true, MAXPGPATH) as string;
  const fn = checkName("bgw_function_name", true) as string;

  const flags = w.bgw_flags;
  // The range check first: & works on 32 bits, so 2 ** 32 would pass the mask alone.
  if (
    typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > KNOWN_FLAGS ||
    (flags & ~KNOWN_FLAGS) !== 0
  ) {
    fail(
      "bgw_flags",
      "bgw_flags must be a combination of BGWORKER_SHMEM_ACCESS, BGWORKER_BACKEND_DATABASE_CONNECTION and BGWORKER_INTERRUPTIBLE",
      `Got ${describe(flags)}.`,
    );
  }
  const startTime = w.bgw_start_time;
  if (startTime !== 0 && startTime !== 1 && startTime !== 2) {
    fail(
      "bgw_start_time",
      "bgw_start_time must be BgWorkerStart_PostmasterStart, BgWorkerStart_ConsistentState or BgWorkerStart_RecoveryFinished",
      `Got ${describe(startTime)}.`,
    );
  }
  if ((flags as number) & BGWORKER_BACKEND_DATABASE_CONNECTION) {
    if (!((flags as number) & BGWORKER_SHMEM_ACCESS)) {
      fail("bgw_flags", "must attach to shared memory in order to request a database connection");
    }
    if (startTime === BgWorkerStart_PostmasterStart) {
      fail("bgw_start_time", "cannot request database access if starting at postmaster start");
    }
  }

  if (((flags as number) & BGWORKER_INTERRUPTIBLE) && !((flags as number) & BGWORKER_BACKEND_DATABASE_CONNECTION)) {
    fail("bgw_flags", "cannot make background workers interruptible without database access");
  }

  const restart = w.bgw_restart_time;
  if (
    typeof restart !== "number" || !Number.isFinite(restart) ||
    (restart < 0 && restart !== BGW_NEVER_RESTART) || restart > MAX_RESTART_SECONDS
  ) {
    fail(
      "bgw_restart_time",
      "invalid restart interval",
      `bgw_restart_time must be 0 to ${MAX_RESTART_SECONDS} seconds or BGW_NEVER_RESTART; got ${describe(restart)}.`,
    );
  }

  const mainArg = w.bgw_main_arg ?? null;
  checkDatum(mainArg, fail);

  const extra = new Uint8Array(BGW_EXTRALEN);
  if (w.bgw_extra !== undefined) {
    const bytes = w.bgw_extra;
    if (!isUint8Array(bytes)) return fail("bgw_extra", "bgw_extra must be a Uint8Array", `Got ${describe(bytes)}.`);
    const length = typedArrayLength.call(bytes);
    if (length > BGW_EXTRALEN) {
      fail(
        "bgw_extra",
        "bgw_extra is too long",
        `It is ${length} bytes; the limit is BGW_EXTRALEN (${BGW_EXTRALEN}) bytes.`,
      );
    }
    // A copy of the caller's bytes: registration takes the value, not the buffer.
    // set() from a typed array reads its internal slots, as the length above did.
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
    bgw_name: bgwName,
    bgw_type: type,
    // + 0 turns -0 into 0: these are C integers, which have no negative zero to carry.
    bgw_flags: (flags as number) + 0,
    bgw_start_time: startTime as 0 | 1 | 2,
    bgw_restart_time: (restart as number) + 0,
    bgw_library_name: library,
    bgw_function_name: fn,
    bgw_main_arg: mainArg as Datum,
    bgw_extra: extra,
    bgw_notify_pid: (notify as number) + 0,
  });
}

/**
 * Read every field once, and find a field that should not be there. A getter
 * or trap that throws becomes a typed error naming the field it was reading.
 */
function snapshot(worker: unknown): { fields: Snapshot; unknownField: string | undefined } {
  const notAnObject = () =>
    new BackgroundWorkerError("registration must be a BackgroundWorker object", {
      worker: "(unnamed)",
      code: "invalid_parameter_value",
      detail: `Got ${describe(worker)}.`,
    });
  if (typeof worker !== "object" || worker === null) throw notAnObject();
  const fields = {} as Snapshot;
  let reading: keyof Snapshot | undefined;
  let unknownField: string | undefined;
  try {
    if (Array.isArray(worker)) throw notAnObject();
    for (const field of FIELDS) {
      reading = field;
      fields[field] = (worker as Record<string, unknown>)[field];
    }
    reading = undefined;
    unknownField = Object.keys(worker).find((key) => !KNOWN_FIELDS.has(key));
  } catch (error) {
    if (error instanceof BackgroundWorkerError) throw error;
    throw new BackgroundWorkerError(`could not read ${reading ?? "the registration's fields"}`, {
      worker: workerName(fields.bgw_name),
      field: reading,
      code: "invalid_parameter_value",
      detail: quoteText(printable(error)),
      cause: error,
    });
  }
  return { fields, unknownField };
}

/** What was thrown, as text, even when its own toString throws too. */
function printable(thrown: unknown): string {
  try {
    return errorText(thrown);
  } catch {
    return "(a value that cannot be printed)";
  }
}

/** The name an error gives the worker: its own when it has one, short and well-formed. */
function workerName(name: unknown): string {
  return typeof name === "string" && name !== "" ? quoteText(name) : "(unnamed)";
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

/** A refused value in a few words, quoting at most {@link QUOTE_LIMIT} characters of it. */
function describe(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    // JSON.stringify writes a lone surrogate as an escape (\ud800), which shows it and travels.
    case "string":
      return `the string ${JSON.stringify(clip(value))}`;
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    case "bigint":
      return `bigint ${clip(String(value))}`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
  }
  if (isUint8Array(value)) return `a Uint8Array of ${typedArrayLength.call(value)} bytes`;
  try {
    // Array.isArray and the tag can run a Proxy's traps, which may throw.
    if (Array.isArray(value)) return "an array";
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return tag === "Uint8Array" ? "an object that only looks like a Uint8Array" : `an object (${quoteText(tag)})`;
  } catch {
    return "an object";
  }
}
