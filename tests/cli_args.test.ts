import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_LOG_LINES,
  DEFAULT_TIMEOUT_MS,
  parseCommandLine,
  parseHandleArgument,
} from "../runtimes/shared/cli/args.ts";
import { CliError, EXIT_USAGE } from "../runtimes/shared/cli/errors.ts";

const usage = (argv: string[], message: RegExp) =>
  assert.throws(() => parseCommandLine(argv), (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitCode, EXIT_USAGE);
    assert.match(e.message, message);
    return true;
  });

test("cli args: ps with its defaults, --json, --socket and --pid in any place", () => {
  assert.deepEqual(parseCommandLine(["ps"]), {
    command: "ps",
    help: false,
    target: null,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    json: false,
    cluster: false,
  });
  assert.deepEqual(parseCommandLine(["--socket", "/tmp/x.sock", "ps", "--json"]), {
    command: "ps",
    help: false,
    target: { socket: "/tmp/x.sock" },
    timeoutMs: DEFAULT_TIMEOUT_MS,
    json: true,
    cluster: false,
  });
  assert.deepEqual(parseCommandLine(["ps", "--pid=4242", "--timeout", "250"]).target, { pid: 4242 });
  assert.equal(parseCommandLine(["ps", "--timeout=250"]).timeoutMs, 250);
});

test("cli args: logs takes -f, -n N (also -nN, --lines=N) and a worker name", () => {
  const logs = parseCommandLine(["logs", "-f", "-n", "20", "importer"]);
  assert.deepEqual(logs, {
    command: "logs",
    help: false,
    target: null,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    follow: true,
    lines: 20,
    name: "importer",
  });
  assert.equal((parseCommandLine(["logs", "-n5"]) as { lines: number }).lines, 5);
  assert.equal((parseCommandLine(["logs", "--lines=0"]) as { lines: number }).lines, 0);
  assert.deepEqual(parseCommandLine(["logs"]), {
    command: "logs",
    help: false,
    target: null,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    follow: false,
    lines: DEFAULT_LOG_LINES,
    name: null,
  });
  assert.equal((parseCommandLine(["logs", "--", "-odd-name"]) as { name: string }).name, "-odd-name");
  usage(["logs", "-n", "1001"], /-n must be a whole number from 0 to 1000, not "1001"/);
  usage(["logs", "-n", "x"], /not "x"/);
  usage(["logs", "-n"], /--lines needs a value N/);
  usage(["logs", "a", "b"], /logs: unexpected argument "b"/);
});

test("cli args: terminate needs SLOT:GENERATION", () => {
  assert.deepEqual((parseCommandLine(["terminate", "2:7"]) as { handle: unknown }).handle, { slot: 2, generation: 7 });
  assert.deepEqual(parseHandleArgument("0:0"), { slot: 0, generation: 0 });
  usage(["terminate"], /terminate needs a handle SLOT:GENERATION/);
  usage(["terminate", "2"], /"2" is not a handle; give SLOT:GENERATION/);
  usage(["terminate", "-1:2"], /unknown flag "-1:2"/);
  usage(["terminate", "a:b"], /"a:b" is not a handle/);
  // --help without a handle is help, not an error.
  assert.equal(parseCommandLine(["terminate", "--help"]).help, true);
});

test("cli args: stop's mode defaults to fast; reload, metrics and health take no argument", () => {
  assert.equal((parseCommandLine(["stop"]) as { mode: string }).mode, "fast");
  assert.equal((parseCommandLine(["stop", "immediate"]) as { mode: string }).mode, "immediate");
  assert.equal((parseCommandLine(["stop", "smart", "--pid", "9"]) as { mode: string }).mode, "smart");
  usage(["stop", "slow"], /stop: mode must be smart, fast or immediate, not "slow"/);
  for (const command of ["reload", "metrics", "health"]) {
    assert.equal(parseCommandLine([command]).command, command);
    usage([command, "extra"], new RegExp(`${command}: unexpected argument "extra"`));
  }
});

test("cli args: help in every spelling", () => {
  assert.deepEqual(parseCommandLine([]), { command: null, help: false, target: null, timeoutMs: DEFAULT_TIMEOUT_MS });
  assert.equal(parseCommandLine(["--help"]).help, true);
  assert.equal(parseCommandLine(["-h"]).command, null);
  assert.deepEqual([parseCommandLine(["ps", "-h"]).command, parseCommandLine(["ps", "-h"]).help], ["ps", true]);
  const help = parseCommandLine(["help", "logs"]);
  assert.deepEqual([help.command, help.help], ["logs", true]);
});

test("cli args: unknown commands and flags are usage errors, with a suggestion when one is near", () => {
  usage(["sp"], /unknown command "sp"; did you mean "ps"\?/);
  usage(["frobnicate"], /^unknown command "frobnicate"; see bgworker --help$/);
  usage(["ps", "--jsno"], /ps: unknown flag "--jsno"; did you mean "--json"\?/);
  usage(["ps", "-f"], /ps: unknown flag "-f"/);
  usage(["metrics", "--json"], /metrics: unknown flag "--json"/);
  usage(["ps", "--json=yes"], /--json takes no value/);
  usage(["ps", "--socket"], /--socket needs a value PATH/);
  usage(["ps", "--socket", ""], /--socket needs a path/);
  usage(["ps", "--pid", "0"], /--pid must be a whole number from 1/);
  usage(["ps", "--pid", "12abc"], /--pid must be a whole number/);
  usage(["ps", "--timeout", "0"], /--timeout must be a whole number from 1/);
  usage(["ps", "--pid", "1", "--socket", "/x"], /give --socket or --pid, not both/);
});
