/**
 * The `--help` texts: one general page with the exit codes, and one per
 * command.
 *
 * @module
 */

import { type CommandName, DEFAULT_LOG_LINES, DEFAULT_TIMEOUT_MS } from "./args.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from "./errors.ts";

const TARGET = `Which postmaster:
  --socket PATH   its control socket
  --pid PID       the postmaster in process PID (its default socket)
  (neither)       every postmaster of yours found in the socket directory:
                  $XDG_RUNTIME_DIR/bgworker, or <tmpdir>/bgworker-<uid>
  --timeout MS    how long to wait to connect and for a reply (default ${DEFAULT_TIMEOUT_MS})
  -h, --help      this help`;

const GENERAL = `bgworker: look at and control the postmasters of the bgworker library
(those started with new Postmaster({ controlSocket: true }))

Usage: bgworker <command> [options]

Commands:
  ps                         list the workers of every postmaster found (or of one)
  logs [-f] [-n N] [NAME]    the postmaster's recent log lines; -f follows them
  terminate SLOT:GENERATION  terminate one worker (its handle, as ps shows it)
  reload                     send SIGHUP to every worker
  stop [smart|fast|immediate]  stop the postmaster (default fast)
  metrics                    the postmaster's metrics, in Prometheus text format
  health                     exit 0 if the postmaster answers and no worker failed

Run bgworker <command> --help for a command's options.

${TARGET}

Commands other than ps need exactly one postmaster: the one given, or the
only one found; with several found, they are listed and nothing is done.

Exit codes:
  ${EXIT_OK}  done; health: the postmaster answers and no worker failed
  ${EXIT_FAILED}  the postmaster refused the request; health: unhealthy or no answer;
     ps: some postmasters answered and some did not
  ${EXIT_USAGE}  usage error: unknown command or flag, bad value, several postmasters
     found and none chosen
  ${EXIT_UNREACHABLE}  no postmaster reachable: none found (it says where it looked), socket
     stale (its postmaster is gone), permission denied, no reply in time
`;

const COMMAND_HELP: Record<CommandName, string> = {
  ps: `Usage: bgworker ps [--json] [--cluster] [--socket PATH | --pid PID]

List each postmaster's workers, under a heading "postmaster <pid> (<socket>)":
handle (slot:generation), name, type, state, pid, uptime, restarts, last exit,
CPU time, resident memory, and the wait event where a worker waits on one.
Without --socket or --pid, asks every postmaster found; a stale socket whose
postmaster is gone is skipped, with a note on stderr.

  --json          print one JSON array of { postmasterPid, workers }, the
                  workers as the postmaster sent them
  --cluster       list every host of the postmaster's cluster and every
                  cluster worker, wherever it runs (host, slot:generation,
                  name, state, pid, fence), asking one postmaster of it

${TARGET}
`,
  logs: `Usage: bgworker logs [-f] [-n N] [NAME] [--socket PATH | --pid PID]

Print the postmaster's last N log lines (default ${DEFAULT_LOG_LINES}, at most 1000), or only
those of the worker named NAME.

  -f, --follow    keep printing new lines until Ctrl-C
  -n, --lines N   how many past lines

${TARGET}
`,
  terminate: `Usage: bgworker terminate SLOT:GENERATION [--socket PATH | --pid PID]

Terminate one worker (SIGTERM; SIGKILL if it is still there after the
postmaster's stopTimeoutMs). It is not restarted. SLOT:GENERATION is its
handle, as the first column of bgworker ps shows it; a handle whose slot was
reused since names nobody, and is refused.

${TARGET}
`,
  reload: `Usage: bgworker reload [--socket PATH | --pid PID]

Send SIGHUP to every worker (PostgreSQL's pg_ctl reload).

${TARGET}
`,
  stop: `Usage: bgworker stop [smart|fast|immediate] [--socket PATH | --pid PID]

Stop the postmaster and its workers:
  smart       no new workers; wait for the running ones to finish
  fast        SIGTERM to every worker, SIGKILL after a timeout (default)
  immediate   SIGQUIT to every worker

${TARGET}
`,
  metrics: `Usage: bgworker metrics [--socket PATH | --pid PID]

Print the postmaster's metrics in Prometheus text format.

${TARGET}
`,
  health: `Usage: bgworker health [--socket PATH | --pid PID]

Exit ${EXIT_OK} when the postmaster answers and no worker is in state "failed", ${EXIT_FAILED}
otherwise, printing one line that says why:
  ok: 3 workers, none failed
  unhealthy: worker "importer" (slot 2) failed
  no postmaster answers at <socket>: ...
Usable as a Kubernetes exec probe:
  livenessProbe: { exec: { command: ["npx", "bgworker", "health"] } }

${TARGET}
`,
};

/**
 * The help page for a command, or the general one.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * console.log(helpText("ps"));
 * ```
 */
export function helpText(command: CommandName | null): string {
  return command === null ? GENERAL : COMMAND_HELP[command];
}
