/**
 * `bgworker ps`: the workers of one postmaster, or of every one found, as
 * a table per postmaster or as one JSON array.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { askAll } from "../ask_all.ts";
import { EXIT_FAILED, EXIT_OK } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { formatWorkerTable } from "../worker_table.ts";

/**
 * Run `ps`. Returns the exit code: 0 when every postmaster asked answered;
 * when none did, the code of the first failure; 1 when only some did.
 *
 * @example
 * ```ts
 * import { runPs } from "./ps.ts";
 * import { processIo } from "../io.ts";
 * const code = await runPs({ command: "ps", json: false, cluster: false, help: false, target: null, timeoutMs: 5000 }, processIo());
 * ```
 */
export async function runPs(invocation: Extract<Invocation, { command: "ps" }>, io: CliIo): Promise<number> {
  const answers = (await askAll(invocation, io, { op: "ps" })).map(({ socket, reply, error }) => {
    const workers = Array.isArray(reply?.workers) ? reply.workers as Record<string, unknown>[] : [];
    const postmasterPid = typeof reply?.postmasterPid === "number" ? reply.postmasterPid : socket.pid;
    return { socket, postmasterPid, workers, error };
  });
  const answered = answers.filter((a) => a.error === null);
  const failed = answers.filter((a) => a.error !== null);
  // With one socket asked, its failure is the command's: the same message and exit code as any other command.
  if (answered.length === 0 && !invocation.json) throw failed[0]!.error!;
  for (const { error } of failed) io.err(error!.message + "\n");

  if (invocation.json) {
    io.out(JSON.stringify(answered.map(({ postmasterPid, workers }) => ({ postmasterPid, workers }))) + "\n");
  } else {
    const now = io.now();
    io.out(
      answered.map(({ socket, postmasterPid, workers }) =>
        `postmaster ${postmasterPid ?? "?"} (${socket.path})\n${formatWorkerTable(workers, now)}\n`
      ).join("\n"),
    );
  }
  if (failed.length === 0) return EXIT_OK;
  return answered.length === 0 ? failed[0]!.error!.exitCode : EXIT_FAILED;
}
