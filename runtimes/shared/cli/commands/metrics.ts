/**
 * `bgworker metrics`: one postmaster's metrics in Prometheus text format,
 * as `pm.metrics()` gives them.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { requestOnce } from "../client.ts";
import { oneSocket, skippedNote } from "../discovery.ts";
import { CliError, EXIT_FAILED, EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";

/**
 * Run `metrics`.
 *
 * @example
 * ```ts
 * import { runMetrics } from "./metrics.ts";
 * import { processIo } from "../io.ts";
 * await runMetrics({ command: "metrics", help: false, target: null, timeoutMs: 5000 }, processIo());
 * ```
 */
export async function runMetrics(invocation: Extract<Invocation, { command: "metrics" }>, io: CliIo): Promise<number> {
  const { socket, skipped } = oneSocket(invocation.target, io.directory);
  for (const s of skipped) io.err(skippedNote(s) + "\n");
  const reply = await requestOnce(socket.path, { op: "metrics" }, invocation.timeoutMs);
  if (typeof reply.text !== "string") {
    throw new CliError(`the postmaster at ${socket.path} sent no metrics text`, EXIT_FAILED);
  }
  io.out(reply.text.endsWith("\n") || reply.text === "" ? reply.text : reply.text + "\n");
  return EXIT_OK;
}
