/**
 * `bgworker terminate SLOT:GENERATION`: terminate one worker by its handle.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { requestOnce } from "../client.ts";
import { oneSocket, skippedNote } from "../discovery.ts";
import { EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";

/**
 * Run `terminate`.
 *
 * @example
 * ```ts
 * import { runTerminate } from "./terminate.ts";
 * import { processIo } from "../io.ts";
 * const invocation = { command: "terminate", handle: { slot: 2, generation: 7 }, help: false, target: null, timeoutMs: 5000 } as const;
 * await runTerminate(invocation, processIo());
 * ```
 */
export async function runTerminate(
  invocation: Extract<Invocation, { command: "terminate" }>,
  io: CliIo,
): Promise<number> {
  const { socket, skipped } = oneSocket(invocation.target, io.directory);
  for (const s of skipped) io.err(skippedNote(s) + "\n");
  const handle = invocation.handle!;
  await requestOnce(socket.path, { op: "terminate", handle }, invocation.timeoutMs);
  io.out(`postmaster ${socket.pid ?? socket.path}: terminating worker ${handle.slot}:${handle.generation}\n`);
  return EXIT_OK;
}
