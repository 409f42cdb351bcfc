/**
 * Messages between the postmaster and a worker process, and the checks a
 * message from a worker must pass: a worker's channel is untrusted input.
 *
 * @module
 */

import { isLogLevel, type LogLevel } from "./log_level.ts";
import { type BackgroundWorkerHandle, parseHandle } from "./handle.ts";
import type { SegmentLocation } from "./shmem/attachment.ts";

/** Largest message, in bytes of JSON, either side accepts; adapters enforce it on the wire. */
export const MAX_MESSAGE_BYTES = 1 << 20;

/**
 * Where a worker with the connection flag connects, or why it cannot.
 *
 * @example
 * ```ts
 * import type { WorkerDatabase } from "./protocol.ts";
 * const where: WorkerDatabase = { url: "postgres://postgres@127.0.0.1:41633/postgres", embedded: true };
 * ```
 */
export type WorkerDatabase = { url: string; embedded: boolean } | { unavailable: string };

/**
 * Where a worker with `BGWORKER_SHMEM_ACCESS` finds shared memory, or why there is none.
 *
 * @example
 * ```ts
 * import type { WorkerSharedMemory } from "./protocol.ts";
 * const none: WorkerSharedMemory = { unavailable: "shared memory is not available on win32" };
 * ```
 */
export type WorkerSharedMemory = SegmentLocation | { unavailable: string };

/**
 * Postmaster → worker: the start parameters, by value. The first message a
 * worker process receives, and the only one it needs to begin.
 *
 * @example
 * ```ts
 * import type { StartMessage } from "./protocol.ts";
 * const start: StartMessage = { type: "start", entry: "{…}", libraryUrl: "file:///w.ts", slot: 0, generation: 1, postmasterPid: 42, title: "bgworker: w" };
 * ```
 */
export interface StartMessage {
  /** Always "start". */
  type: "start";
  /** `encodeWorkerEntry` output. */
  entry: string;
  /** Where `bgw_library_name` resolved, or null when it did not. */
  libraryUrl: string | null;
  /** The worker's slot. */
  slot: number;
  /** The slot's generation: with `slot`, the worker's handle. */
  generation: number;
  /** The postmaster's pid (`PostmasterPid`), for `postmasterIsAlive()`. */
  postmasterPid: number;
  /** The process title, `processTitle(entry)`: set at spawn where the runtime allows, and by the worker itself. */
  title: string;
  /** For a worker with `BGWORKER_SHMEM_ACCESS`: the segment to map before its library is imported, or why there is none. */
  sharedMemory?: WorkerSharedMemory;
  /** For a worker with `BGWORKER_BACKEND_DATABASE_CONNECTION`: the cluster to connect to (credentials included), or why there is none. */
  database?: WorkerDatabase;
  /** For a cluster worker (`registerClusterWorker`): where the cluster placed it, and the placement's fencing token. */
  cluster?: WorkerClusterPlacement;
}

/**
 * Where a cluster placed a worker, as its start message carries it (the
 * fence as decimal text: JSON has no bigint).
 *
 * @example
 * ```ts
 * import type { WorkerClusterPlacement } from "./protocol.ts";
 * const placed: WorkerClusterPlacement = { cluster: "default", slot: 3, generation: 2, fence: "41", hostId: "pod-7" };
 * ```
 */
export interface WorkerClusterPlacement {
  /** The cluster's name. */
  cluster: string;
  /** The worker's slot in the cluster. */
  slot: number;
  /** The placement's generation in that slot. */
  generation: number;
  /** The fencing token of this placement: higher than any the cluster gave before. */
  fence: string;
  /** The host running it. */
  hostId: string;
}

/** Postmaster → worker: a worker whose `bgw_notify_pid` is this one started or stopped. */
export interface NotifyMessage {
  type: "notify";
  slot: number;
  generation: number;
  status: number;
  pid: number | null;
}

/** A failure carried back to the worker that asked. */
export interface WireError {
  name: string;
  message: string;
  worker?: string;
  field?: string;
  code?: string;
  detail?: string;
  hint?: string;
}

/** Postmaster → worker: the answer to a {@link RequestMessage}. */
export type ReplyMessage =
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: WireError };

/**
 * Postmaster → spare: nothing to do. Sent once to a spare that reported
 * ready, so that its runtime's receiving path has run before the start
 * message comes (the first message a process receives costs about a
 * millisecond more than the next).
 */
export interface PingMessage {
  type: "ping";
  /** The cluster has shared memory: load the runtime's mapper now, so a worker with the flag does not wait for it. */
  sharedMemory: boolean;
  /** Libraries to import ahead (the option `spareWorkerLibraries`, as `file:` URLs): a worker of one starts with it loaded. */
  libraries?: string[];
}

/**
 * Postmaster → worker: the postmaster has just sent this process SIGTERM
 * (terminate, a fast stop, a memory limit). A worker that removed its
 * SIGTERM listener for the kernel's default action may have dropped a
 * SIGTERM caught a moment before; this says one was sent, so none is lost
 * (src/worker/sigterm_route.ts). Sent after the signal: a worker the
 * kernel ended never reads it.
 *
 * @example
 * ```ts
 * import type { SigtermSentMessage } from "./protocol.ts";
 * const announced: SigtermSentMessage = { type: "sigterm_sent" };
 * ```
 */
export interface SigtermSentMessage {
  type: "sigterm_sent";
}

/** Every message a worker receives. */
export type PostmasterMessage = StartMessage | NotifyMessage | ReplyMessage | PingMessage | SigtermSentMessage;

/** Worker → postmaster: the runtime booted and waits for its start message (a spare is ready). */
export interface ReadyMessage {
  type: "ready";
}

/** Worker → postmaster: bootstrap is done and the entry is rebuilt (`BGWH_STARTED` from here). */
export interface StartedMessage {
  type: "started";
}

/** Worker → postmaster: a handle operation, answered by a {@link ReplyMessage} with the same id. */
export type RequestMessage =
  | { type: "request"; id: number; op: "register"; worker: string; options?: unknown }
  | { type: "request"; id: number; op: "getpid"; handle: BackgroundWorkerHandle }
  | { type: "request"; id: number; op: "terminate"; handle: BackgroundWorkerHandle };

/** Worker → postmaster: a log line of the worker's, for the postmaster's logger. */
export interface LogMessage {
  type: "log";
  level: LogLevel;
  message: string;
}

/** Every message a worker sends. */
export type WorkerMessage = ReadyMessage | StartedMessage | RequestMessage | LogMessage;

/** A message that failed {@link parseWorkerMessage}, and why. */
export interface InvalidMessage {
  invalid: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Check that a value from a worker's channel is one of the
 * {@link WorkerMessage} shapes; anything else is a protocol violation.
 *
 * @example
 * ```ts
 * import { parseWorkerMessage } from "./protocol.ts";
 * const message = parseWorkerMessage({ type: "started" });
 * if ("invalid" in message) console.error(message.invalid);
 * ```
 */
export function parseWorkerMessage(value: unknown): WorkerMessage | InvalidMessage {
  if (!isRecord(value)) return { invalid: `expected an object, got ${value === null ? "null" : typeof value}` };
  if (value.type === "started") return { type: "started" };
  if (value.type === "ready") return { type: "ready" };
  if (value.type === "log") {
    if (!isLogLevel(value.level) || typeof value.message !== "string") {
      return { invalid: "log message without a known level and a text" };
    }
    return { type: "log", level: value.level, message: value.message };
  }
  if (value.type !== "request") {
    return { invalid: `unknown message type ${JSON.stringify(String(value.type)).slice(0, 60)}` };
  }
  if (!isIndex(value.id)) return { invalid: "request without a numeric id" };
  const id = value.id;
  switch (value.op) {
    case "register":
      if (typeof value.worker !== "string") return { invalid: "register request without an encoded worker" };
      // The options are checked by the postmaster as an application's are (checkWorkerOptions).
      return value.options === undefined
        ? { type: "request", id, op: "register", worker: value.worker }
        : { type: "request", id, op: "register", worker: value.worker, options: value.options };
    case "getpid":
    case "terminate": {
      const handle = parseHandle(value.handle);
      if (!handle) return { invalid: `${value.op} request without a valid handle` };
      return { type: "request", id, op: value.op, handle };
    }
    default:
      return { invalid: `unknown request ${JSON.stringify(String(value.op)).slice(0, 60)}` };
  }
}

/**
 * Turn an error into what crosses the channel, keeping the fields of a
 * `BackgroundWorkerError` so the worker can rebuild a typed error.
 *
 * @example
 * ```ts
 * import { toWireError } from "./protocol.ts";
 * const wire = toWireError(new RangeError("bad"));
 * ```
 */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const e = error as Error & Record<"worker" | "field" | "code" | "detail" | "hint", unknown>;
  const wire: WireError = { name: e.name, message: e.message };
  for (const key of ["worker", "field", "code", "detail", "hint"] as const) {
    const value = e[key];
    if (typeof value === "string") wire[key] = value;
  }
  return wire;
}
