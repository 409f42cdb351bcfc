/**
 * `bgworker stop [smart|fast|immediate]`: stop one postmaster.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { requestOnce } from "../client.ts";
import { oneSocket, skippedNote } from "../discovery.ts";
import { EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";

/**
 * Run `stop`. The postmaster says yes, then stops: this does not wait for
 * its workers to be gone.
 *
 * @example
 * ```ts
 * import { runStop } from "./stop.ts";
 * import { processIo } from "../io.ts";
 * await runStop({ command: "stop", mode: "fast", help: false, target: { pid: 4242 }, timeoutMs: 5000 }, processIo());
 * ```
 */
export async function runStop(invocation: Extract<Invocation, { command: "stop" }>, io: CliIo): Promise<number> {
  const { socket, skipped } = oneSocket(invocation.target, io.directory);
  for (const s of skipped) io.err(skippedNote(s) + "\n");
  await requestOnce(socket.path, { op: "stop", mode: invocation.mode }, invocation.timeoutMs);
  io.out(`postmaster ${socket.pid ?? socket.path}: stopping (${invocation.mode})\n`);
  return EXIT_OK;
}
