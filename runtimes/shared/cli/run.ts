/**
 * The `bgworker` command as a function: arguments in, exit code out, with
 * its output through a {@link CliIo}. `main.ts` calls it with the real
 * process; tests call it with their own.
 *
 * @module
 */

import { parseCommandLine } from "./args.ts";
import { runHealth } from "./commands/health.ts";
import { runLogs } from "./commands/logs.ts";
import { runMetrics } from "./commands/metrics.ts";
import { runPs } from "./commands/ps.ts";
import { runPsCluster } from "./commands/ps_cluster.ts";
import { runReload } from "./commands/reload.ts";
import { runStop } from "./commands/stop.ts";
import { runTerminate } from "./commands/terminate.ts";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./errors.ts";
import { helpText } from "./help.ts";
import type { CliIo } from "./io.ts";

/**
 * Run the command line `argv` (the arguments after the program's name) and
 * return the exit code. Errors are written to `io.err` as one line
 * starting with `bgworker: `; it never throws.
 *
 * @example
 * ```ts
 * import { runCli } from "./run.ts";
 * import { processIo } from "./io.ts";
 * const code = await runCli(["ps", "--json"], processIo());
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.help) {
      io.out(helpText(invocation.command));
      return EXIT_OK;
    }
    switch (invocation.command) {
      case null:
        io.err(helpText(null));
        return EXIT_USAGE;
      case "ps":
        return await (invocation.cluster ? runPsCluster(invocation, io) : runPs(invocation, io));
      case "logs":
        return await runLogs(invocation, io);
      case "terminate":
        return await runTerminate(invocation, io);
      case "reload":
        return await runReload(invocation, io);
      case "stop":
        return await runStop(invocation, io);
      case "metrics":
        return await runMetrics(invocation, io);
      case "health":
        return await runHealth(invocation, io);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`bgworker: ${error.message}\n`);
      return error.exitCode;
    }
    io.err(`bgworker: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT_FAILED;
  }
}
