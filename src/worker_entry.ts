/**
 * The by-value encoding of a validated `BackgroundWorkerEntry`: what
 * EXEC_BACKEND's `BackendParameters` is to PostgreSQL. The postmaster
 * encodes the entry, the worker process rebuilds its own copy from the
 * string before the user's module is imported, and a worker registering
 * another sends the string to the postmaster, which decodes and validates
 * it again.
 *
 * The string is a JSON object with the fields in the registration's order.
 * JSON carries every well-formed string and every finite number exactly
 * (a number prints as the shortest digits that read back as the same
 * double), but not -0, NaN, ±Infinity or a bigint. `bgw_main_arg` is
 * therefore tagged when it is one of those:
 *
 * - `{"bigint":"-9223372036854775808"}`: a bigint, in decimal;
 * - `{"number":"NaN"}`, `"Infinity"`, `"-Infinity"` or `"-0"`: the numbers JSON would make `null` or `0`;
 * - anything else (a finite number, a boolean, null): itself.
 *
 * No registration can hold an object there, so a tag cannot be mistaken for
 * a value. `bgw_extra` is lowercase hex up to its last non-zero byte: the
 * zero padding to `BGW_EXTRALEN` bytes need not travel.
 *
 * @module
 */

import { BGW_EXTRALEN } from "./constants.ts";
import { BackgroundWorkerError, errorText } from "./errors.ts";
import { quoteText, validateBackgroundWorker, type ValidateOptions } from "./worker_validation.ts";
import type { BackgroundWorkerEntry, Datum } from "./worker_spec.ts";

/** The numbers JSON cannot carry, by their tag. A Map: a tag such as "constructor" must find nothing. */
const TAGGED_NUMBERS: ReadonlyMap<string, number> = new Map([["NaN", NaN], ["Infinity", Infinity], [
  "-Infinity",
  -Infinity,
], ["-0", -0]]);

/** A bigint in decimal, at most 20 digits (2^64 - 1 has 20); validation checks the range. */
const DECIMAL = /^-?(?:0|[1-9][0-9]{0,19})$/;
const HEX = /^(?:[0-9a-f]{2})*$/;
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * Serialize a validated entry to a string, so that a child process rebuilds
 * its own copy of it (EXEC_BACKEND style) instead of sharing a reference.
 * Exact for every value validation accepts: -0, NaN, ±Infinity, 64-bit
 * bigints and all 256 byte values of `bgw_extra` come back as they were.
 *
 * @example
 * ```ts
 * import { decodeWorkerEntry, encodeWorkerEntry } from "./worker_entry.ts";
 * import type { BackgroundWorkerEntry } from "./worker_spec.ts";
 * declare const entry: BackgroundWorkerEntry;
 * const copy = decodeWorkerEntry(encodeWorkerEntry(entry));
 * Object.is(copy.bgw_main_arg, entry.bgw_main_arg); // true, even for NaN and -0
 * ```
 */
export function encodeWorkerEntry(entry: BackgroundWorkerEntry): string {
  return JSON.stringify({
    bgw_name: entry.bgw_name,
    bgw_type: entry.bgw_type,
    bgw_flags: entry.bgw_flags,
    bgw_start_time: entry.bgw_start_time,
    bgw_restart_time: entry.bgw_restart_time,
    bgw_library_name: entry.bgw_library_name,
    bgw_function_name: entry.bgw_function_name,
    bgw_main_arg: encodeDatum(entry.bgw_main_arg),
    bgw_extra: toHex(entry.bgw_extra),
    bgw_notify_pid: entry.bgw_notify_pid,
  });
}

/**
 * Rebuild an entry from {@link encodeWorkerEntry}'s output, validating it
 * again: the string crossed a process boundary and may come from a worker.
 * Whatever the string holds, the only error thrown is a
 * {@link BackgroundWorkerError}.
 *
 * @example
 * ```ts
 * import { decodeWorkerEntry } from "./worker_entry.ts";
 * declare const encoded: string; // what a worker sent with its "register" request
 * const entry = decodeWorkerEntry(encoded, { dynamic: true });
 * ```
 */
export function decodeWorkerEntry(
  encoded: string,
  options: ValidateOptions = { dynamic: true },
): BackgroundWorkerEntry {
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
 * import { rebuildWorkerEntry } from "./worker_entry.ts";
 * import type { StartMessage } from "./protocol.ts";
 * declare const start: StartMessage;
 * const myEntry = rebuildWorkerEntry(start.entry);
 * ```
 */
export function rebuildWorkerEntry(encoded: string): BackgroundWorkerEntry {
  const raw = reviveEntry(encoded);
  const extra = new Uint8Array(BGW_EXTRALEN);
  if (raw.bgw_extra instanceof Uint8Array) extra.set(raw.bgw_extra);
  raw.bgw_extra = extra;
  return Object.freeze(raw) as unknown as BackgroundWorkerEntry;
}

function encodeDatum(arg: Datum): unknown {
  if (typeof arg === "bigint") return { bigint: arg.toString() };
  if (typeof arg === "number" && (!Number.isFinite(arg) || Object.is(arg, -0))) {
    return { number: Object.is(arg, -0) ? "-0" : String(arg) };
  }
  return arg;
}

/**
 * Parse the string and undo the tagging; the rest is validation's (or, for
 * the postmaster's own string, trusted). Every refusal is typed.
 */
function reviveEntry(encoded: unknown): Record<string, unknown> {
  const malformed = (detail: string) =>
    new BackgroundWorkerError("could not decode the background worker's start parameters", {
      worker: "(unnamed)",
      code: "invalid_parameter_value",
      detail,
    });
  if (typeof encoded !== "string") {
    throw malformed(`They must be a string; got ${encoded === null ? "null" : typeof encoded}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(encoded);
  } catch (error) {
    throw malformed(`They are not JSON: ${quoteText(errorText(error))}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw malformed("They must be a JSON object.");
  }
  const raw = parsed as Record<string, unknown>;
  const fail = (field: string, message: string, detail: string): never => {
    throw new BackgroundWorkerError(message, {
      worker: typeof raw.bgw_name === "string" && raw.bgw_name !== "" ? quoteText(raw.bgw_name) : "(unnamed)",
      field,
      code: "invalid_parameter_value",
      detail,
    });
  };
  if ("bgw_main_arg" in raw) raw.bgw_main_arg = reviveDatum(raw.bgw_main_arg, fail);
  if ("bgw_extra" in raw) raw.bgw_extra = fromHex(raw.bgw_extra, fail);
  return raw;
}

function reviveDatum(value: unknown, fail: (field: string, message: string, detail: string) => never): unknown {
  if (typeof value !== "object" || value === null) return value;
  const keys = Object.keys(value);
  const tag = keys.length === 1 ? keys[0]! : "";
  const text = (value as Record<string, unknown>)[tag];
  // DECIMAL bounds the digits before BigInt() sees them: a worker could send a million.
  if (tag === "bigint" && typeof text === "string" && DECIMAL.test(text)) return BigInt(text);
  if (tag === "number" && typeof text === "string" && TAGGED_NUMBERS.has(text)) return TAGGED_NUMBERS.get(text);
  return fail(
    "bgw_main_arg",
    "bgw_main_arg is not an encoded Datum",
    'Expected a finite number, a boolean, null, {"bigint": a 64-bit decimal} or {"number": "NaN", "Infinity", "-Infinity" or "-0"}.',
  );
}

/** Hex of the bytes up to the last non-zero one: the zero padding of `bgw_extra` need not travel. */
function toHex(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let hex = "";
  for (let i = 0; i < end; i++) hex += HEX_BYTES[bytes[i]!];
  return hex;
}

function fromHex(hex: unknown, fail: (field: string, message: string, detail: string) => never): Uint8Array {
  if (typeof hex !== "string") {
    return fail("bgw_extra", "bgw_extra is not encoded as hex", `Got ${hex === null ? "null" : typeof hex}.`);
  }
  if (hex.length > 2 * BGW_EXTRALEN) {
    fail(
      "bgw_extra",
      "bgw_extra is too long",
      `It is ${Math.ceil(hex.length / 2)} bytes; the limit is BGW_EXTRALEN (${BGW_EXTRALEN}) bytes.`,
    );
  }
  if (!HEX.test(hex)) fail("bgw_extra", "bgw_extra is not encoded as hex", "Expected pairs of lowercase hex digits.");
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
