/**
 * The control socket's protocol, shared by the postmaster's side and the
 * `bgworker` command: one JSON object per line each way, a line at most
 * {@link MAX_CONTROL_LINE_BYTES}. A request names its `op`; the reply
 * carries the request's `id` back, and `ok`. `logs` with `follow` keeps the
 * connection open and sends each new line as `{ id, line }` until the
 * client closes it.
 *
 * @module
 */

import type { BackgroundWorkerHandle } from "./handle.ts";
import { parseHandle } from "./handle.ts";

/** The longest request or reply line, in bytes: a longer request is answered with an error and the connection closed. */
export const MAX_CONTROL_LINE_BYTES = 64 * 1024;

/** The most log lines a postmaster keeps for `logs`, and the most one request may ask for. */
export const MAX_LOG_LINES = 1000;

/**
 * A request on the control socket.
 *
 * @example
 * ```ts
 * import type { ControlRequest } from "./control_protocol.ts";
 * const ask: ControlRequest = { id: 1, op: "logs", lines: 50, follow: true, name: "importer" };
 * ```
 */
export type ControlRequest =
  | { id?: number; op: "ps" }
  | { id?: number; op: "cluster" }
  | { id?: number; op: "metrics" }
  | { id?: number; op: "terminate"; handle: BackgroundWorkerHandle }
  | { id?: number; op: "reload" }
  | { id?: number; op: "stop"; mode: "smart" | "fast" | "immediate" }
  | { id?: number; op: "logs"; lines: number; follow: boolean; name: string | null };

/**
 * One line of the postmaster's log, as `logs` sends it.
 *
 * @example
 * ```ts
 * import type { ControlLogLine } from "./control_protocol.ts";
 * const line: ControlLogLine = { at: Date.now(), level: "LOG", message: "database system is ready to accept connections", worker: null };
 * ```
 */
export interface ControlLogLine {
  /** Epoch milliseconds. */
  at: number;
  /** The log level: LOG, WARNING, FATAL… */
  level: string;
  /** The line, without the level. */
  message: string;
  /** The worker the line is about or from: its name and pid, or null. */
  worker: { name: string; pid: number | null } | null;
}

/**
 * A reply: `ok` with the op's fields, or an error. `ps` adds `postmasterPid`
 * and `workers` (the entries of `backgroundWorkers()`), `metrics` adds
 * `text`, `logs` adds `lines`, `cluster` adds `cluster`, `hostId`, `hosts`
 * and `workers` (every host's, as `clusterHosts()` and `clusterWorkers()`).
 *
 * @example
 * ```ts
 * import type { ControlReply } from "./control_protocol.ts";
 * const refused: ControlReply = { id: 1, ok: false, error: "unknown op \"format\"" };
 * ```
 */
export type ControlReply =
  | { id: number | null; ok: true; [field: string]: unknown }
  | { id: number | null; ok: false; error: string };

/**
 * Parse one request line; `{ error }` says what was wrong (never throws).
 *
 * @example
 * ```ts
 * import { parseControlRequest } from "./control_protocol.ts";
 * parseControlRequest('{"op":"stop","mode":"fast"}'); // { op: "stop", mode: "fast", id: undefined }
 * parseControlRequest("garbage"); // { error: "not JSON" }
 * ```
 */
export function parseControlRequest(line: string): ControlRequest | { error: string; id?: number } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "not a JSON object" };
  const request = value as Record<string, unknown>;
  const id = Number.isSafeInteger(request.id) ? request.id as number : undefined;
  const fail = (error: string) => ({ error, id });
  switch (request.op) {
    case "ps":
    case "cluster":
    case "metrics":
    case "reload":
      return { id, op: request.op };
    case "terminate": {
      const handle = parseHandle(request.handle);
      return handle ? { id, op: "terminate", handle } : fail("terminate needs a handle { slot, generation }");
    }
    case "stop": {
      const mode = request.mode ?? "fast";
      if (mode !== "smart" && mode !== "fast" && mode !== "immediate") {
        return fail("stop's mode must be smart, fast or immediate");
      }
      return { id, op: "stop", mode };
    }
    case "logs": {
      const lines = request.lines ?? 100;
      if (typeof lines !== "number" || !Number.isSafeInteger(lines) || lines < 0 || lines > MAX_LOG_LINES) {
        return fail(`logs' lines must be a whole number from 0 to ${MAX_LOG_LINES}`);
      }
      const name = request.name ?? null;
      if (name !== null && typeof name !== "string") return fail("logs' name must be a string");
      return { id, op: "logs", lines, follow: request.follow === true, name };
    }
    default:
      // Named without String(): an object's own toString could throw.
      return fail(
        `unknown op ${typeof request.op === "string" ? JSON.stringify(request.op.slice(0, 40)) : typeof request.op}`,
      );
  }
}
