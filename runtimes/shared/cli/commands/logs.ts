/**
 * `bgworker logs`: the postmaster's recent log lines, and with `-f` every
 * new one until Ctrl-C.
 *
 * @module
 */

import type { ControlLogLine } from "../../../../src/control_protocol.ts";
import type { Invocation } from "../args.ts";
import { checkReply, ControlConnection } from "../client.ts";
import { oneSocket, skippedNote } from "../discovery.ts";
import { CliError, EXIT_FAILED, EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";

/**
 * One log line as printed: time (UTC, ISO 8601), level, then the worker's
 * pid and name where the line is about or from one, as the default
 * logger's prefix does.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./logs.ts";
 * formatLogLine({ at: 0, level: "LOG", message: "imported 1200 rows", worker: { name: "importer", pid: 4242 } });
 * // "1970-01-01T00:00:00.000Z LOG:  [4242] importer: imported 1200 rows"
 * ```
 */
export function formatLogLine(line: Partial<ControlLogLine>): string {
  const at = typeof line.at === "number" && Number.isFinite(line.at) ? new Date(line.at).toISOString() : "-";
  const worker = line.worker && typeof line.worker === "object"
    ? `[${line.worker.pid ?? "-"}] ${line.worker.name}: `
    : "";
  return `${at} ${line.level ?? "LOG"}:  ${worker}${line.message ?? ""}`;
}

/**
 * Run `logs`. With `follow`, returns 0 once Ctrl-C or the postmaster ends
 * the stream.
 *
 * @example
 * ```ts
 * import { runLogs } from "./logs.ts";
 * import { processIo } from "../io.ts";
 * const invocation = { command: "logs", follow: false, lines: 20, name: null, help: false, target: null, timeoutMs: 5000 } as const;
 * await runLogs(invocation, processIo());
 * ```
 */
export async function runLogs(invocation: Extract<Invocation, { command: "logs" }>, io: CliIo): Promise<number> {
  const { socket, skipped } = oneSocket(invocation.target, io.directory);
  for (const s of skipped) io.err(skippedNote(s) + "\n");
  const connection = await ControlConnection.open(socket.path, invocation.timeoutMs);
  let interrupted = false;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    connection.close();
  });
  try {
    const { follow, lines, name } = invocation;
    connection.send({ id: 1, op: "logs", lines, follow, name });
    const reply = checkReply(socket.path, await connection.next(invocation.timeoutMs));
    const past = Array.isArray(reply.lines) ? reply.lines as Partial<ControlLogLine>[] : [];
    if (past.length > 0) io.out(past.map((line) => formatLogLine(line) + "\n").join(""));
    if (!follow) return EXIT_OK;
    for (;;) {
      const next = await connection.next(Infinity);
      if (next === null) break;
      if (next.ok === false) throw new CliError(`the postmaster at ${socket.path} refused: ${next.error}`, EXIT_FAILED);
      if (typeof next.line === "object" && next.line !== null) {
        io.out(formatLogLine(next.line as Partial<ControlLogLine>) + "\n");
      }
    }
    if (!interrupted) io.err(`the postmaster at ${socket.path} closed the connection\n`);
    return EXIT_OK;
  } catch (error) {
    if (interrupted) return EXIT_OK;
    throw error;
  } finally {
    stopListening();
    connection.close();
  }
}
