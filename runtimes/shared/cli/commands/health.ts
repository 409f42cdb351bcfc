/**
 * `bgworker health`: exit 0 when the postmaster answers and no worker
 * failed, 1 otherwise, with one line on stdout that says why.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { requestOnce } from "../client.ts";
import { oneSocket } from "../discovery.ts";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../errors.ts";
import { healthVerdict } from "../health.ts";
import type { CliIo } from "../io.ts";

/**
 * Run `health`. A usage error (several postmasters found, none chosen)
 * still exits 2; every other failure is "unhealthy", 1.
 *
 * @example
 * ```ts
 * import { runHealth } from "./health.ts";
 * import { processIo } from "../io.ts";
 * const code = await runHealth({ command: "health", help: false, target: null, timeoutMs: 2000 }, processIo());
 * ```
 */
export async function runHealth(invocation: Extract<Invocation, { command: "health" }>, io: CliIo): Promise<number> {
  try {
    const { socket } = oneSocket(invocation.target, io.directory);
    const reply = await requestOnce(socket.path, { op: "ps" }, invocation.timeoutMs);
    const verdict = healthVerdict(reply.workers);
    io.out(verdict.line + "\n");
    return verdict.healthy ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode === EXIT_USAGE) throw error;
    io.out(error.message + "\n");
    return EXIT_FAILED;
  }
}
