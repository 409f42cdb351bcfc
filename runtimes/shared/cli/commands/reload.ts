/**
 * `bgworker reload`: SIGHUP to every worker of one postmaster.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { requestOnce } from "../client.ts";
import { oneSocket, skippedNote } from "../discovery.ts";
import { EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";

/**
 * Run `reload`.
 *
 * @example
 * ```ts
 * import { runReload } from "./reload.ts";
 * import { processIo } from "../io.ts";
 * await runReload({ command: "reload", help: false, target: { pid: 4242 }, timeoutMs: 5000 }, processIo());
 * ```
 */
export async function runReload(invocation: Extract<Invocation, { command: "reload" }>, io: CliIo): Promise<number> {
  const { socket, skipped } = oneSocket(invocation.target, io.directory);
  for (const s of skipped) io.err(skippedNote(s) + "\n");
  await requestOnce(socket.path, { op: "reload" }, invocation.timeoutMs);
  io.out(`postmaster ${socket.pid ?? socket.path}: sent SIGHUP to its workers\n`);
  return EXIT_OK;
}
