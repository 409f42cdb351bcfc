/**
 * The `bgworker` command line, parsed into one {@link Invocation}: which
 * command, which postmaster, and the command's own flags and arguments.
 * Anything it does not know is a {@link CliError} with {@link EXIT_USAGE}.
 *
 * @module
 */

import { CliError, EXIT_USAGE } from "./errors.ts";

/** The commands, in the order `--help` lists them. */
export const COMMANDS = ["ps", "logs", "terminate", "reload", "stop", "metrics", "health"] as const;

/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

/** How long a command waits to connect and for an answer, unless `--timeout` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** How many log lines `logs` asks for unless `-n` says otherwise. */
export const DEFAULT_LOG_LINES = 100;

/** Which postmaster: a socket path, a pid (its default socket), or every one found. */
export type Target = { socket: string } | { pid: number } | null;

/**
 * A parsed command line. `help` set means: print that command's help (or
 * the general help when `command` is null) and nothing else.
 *
 * @example
 * ```ts
 * import type { Invocation } from "./args.ts";
 * const ask: Invocation = { command: "ps", help: false, target: null, timeoutMs: 5000, json: true, cluster: false };
 * ```
 */
export type Invocation =
  & { help: boolean; target: Target; timeoutMs: number }
  & (
    | { command: null }
    | { command: "ps"; json: boolean; cluster: boolean }
    | { command: "logs"; follow: boolean; lines: number; name: string | null }
    | { command: "terminate"; handle: { slot: number; generation: number } | null }
    | { command: "reload" }
    | { command: "metrics" }
    | { command: "health" }
    | { command: "stop"; mode: "smart" | "fast" | "immediate" }
  );

interface FlagSpec {
  short?: string;
  value?: string;
}

const COMMON_FLAGS: Record<string, FlagSpec> = {
  help: { short: "h" },
  socket: { value: "PATH" },
  pid: { value: "PID" },
  timeout: { value: "MS" },
};

const COMMAND_FLAGS: Record<CommandName, Record<string, FlagSpec>> = {
  ps: { json: {}, cluster: {} },
  logs: { follow: { short: "f" }, lines: { short: "n", value: "N" } },
  terminate: {},
  reload: {},
  stop: {},
  metrics: {},
  health: {},
};

/** The most positional arguments each command takes. */
const MAX_POSITIONALS: Record<CommandName, number> = {
  ps: 0,
  logs: 1,
  terminate: 1,
  reload: 0,
  stop: 1,
  metrics: 0,
  health: 0,
};

/**
 * Parse the arguments after the program's name.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const ask = parseCommandLine(["logs", "-f", "-n", "20", "importer"]);
 * // { command: "logs", follow: true, lines: 20, name: "importer", help: false, target: null, timeoutMs: 5000 }
 * ```
 */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const first = commandIndex(argv);
  const word = first < 0 ? undefined : argv[first];
  if (word !== undefined && !(COMMANDS as readonly string[]).includes(word)) {
    if (word === "help") return parseCommandLine([...argv.slice(first + 1), "--help"]);
    throw new CliError(
      `unknown command ${JSON.stringify(word)}${suggest(word, COMMANDS)}; see bgworker --help`,
      EXIT_USAGE,
    );
  }
  const command = word as CommandName | undefined;
  const rest = first < 0 ? [...argv] : [...argv.slice(0, first), ...argv.slice(first + 1)];
  const flags = { ...COMMON_FLAGS, ...(command ? COMMAND_FLAGS[command] : {}) };
  const { values, positionals } = readFlags(rest, flags, command ?? null);

  const help = values.has("help");
  const base = { help, target: targetOf(values), timeoutMs: timeoutOf(values) };
  if (!command) return { command: null, ...base };
  if (positionals.length > MAX_POSITIONALS[command]) {
    throw new CliError(
      `${command}: unexpected argument ${JSON.stringify(positionals[MAX_POSITIONALS[command]])}`,
      EXIT_USAGE,
    );
  }
  const arg = positionals[0];
  switch (command) {
    case "ps":
      return { command, ...base, json: values.has("json"), cluster: values.has("cluster") };
    case "logs":
      return {
        command,
        ...base,
        follow: values.has("follow"),
        lines: values.has("lines") ? wholeNumber(values.get("lines")!, "logs -n", 0, 1000) : DEFAULT_LOG_LINES,
        name: arg ?? null,
      };
    case "terminate":
      if (arg === undefined && !help) {
        throw new CliError("terminate needs a handle SLOT:GENERATION (see bgworker ps)", EXIT_USAGE);
      }
      return { command, ...base, handle: arg === undefined ? null : parseHandleArgument(arg) };
    case "stop": {
      const mode = arg ?? "fast";
      if (mode !== "smart" && mode !== "fast" && mode !== "immediate") {
        throw new CliError(
          `stop: mode must be smart, fast or immediate, not ${JSON.stringify(mode)}`,
          EXIT_USAGE,
        );
      }
      return { command, ...base, mode };
    }
    default:
      return { command, ...base };
  }
}

/**
 * A handle as `bgworker ps` prints it, `SLOT:GENERATION`.
 *
 * @example
 * ```ts
 * import { parseHandleArgument } from "./args.ts";
 * parseHandleArgument("2:7"); // { slot: 2, generation: 7 }
 * ```
 */
export function parseHandleArgument(text: string): { slot: number; generation: number } {
  const match = /^(\d{1,9}):(\d{1,15})$/.exec(text);
  if (!match) {
    throw new CliError(
      `terminate: ${JSON.stringify(text)} is not a handle; give SLOT:GENERATION as bgworker ps shows it, e.g. 2:7`,
      EXIT_USAGE,
    );
  }
  return { slot: Number(match[1]), generation: Number(match[2]) };
}

/** Where the command word is: the first argument that is neither a flag nor a flag's value; -1 for none. */
function commandIndex(argv: readonly string[]): number {
  const all = [COMMON_FLAGS, ...Object.values(COMMAND_FLAGS)].flatMap((specs) => Object.entries(specs));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return -1;
    if (!arg.startsWith("-") || arg === "-") return i;
    const takesNext = all.some(([name, spec]) =>
      spec.value !== undefined && (arg === `--${name}` || (spec.short !== undefined && arg === `-${spec.short}`))
    );
    if (takesNext) i++;
  }
  return -1;
}

function readFlags(
  args: string[],
  flags: Record<string, FlagSpec>,
  command: CommandName | null,
): { values: Map<string, string>; positionals: string[] } {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  const where = command ? `${command}: ` : "";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(flags, name)) name = undefined;
    } else {
      name = Object.keys(flags).find((key) => flags[key]!.short === arg[1]);
      if (arg.length > 2) inline = arg.slice(2);
    }
    if (name === undefined) {
      const known = Object.keys(flags).map((key) => `--${key}`);
      throw new CliError(
        `${where}unknown flag ${JSON.stringify(arg.split("=")[0])}${suggest(arg.split("=")[0]!, known)}`,
        EXIT_USAGE,
      );
    }
    const spec = flags[name]!;
    if (spec.value === undefined) {
      if (inline !== undefined) throw new CliError(`${where}--${name} takes no value`, EXIT_USAGE);
      values.set(name, "");
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new CliError(`${where}--${name} needs a value ${spec.value}`, EXIT_USAGE);
    values.set(name, value);
  }
  return { values, positionals };
}

function targetOf(values: Map<string, string>): Target {
  const socket = values.get("socket");
  const pid = values.get("pid");
  if (socket !== undefined && pid !== undefined) {
    throw new CliError("give --socket or --pid, not both", EXIT_USAGE);
  }
  if (socket !== undefined) {
    if (socket === "") throw new CliError("--socket needs a path", EXIT_USAGE);
    return { socket };
  }
  if (pid !== undefined) return { pid: wholeNumber(pid, "--pid", 1, 2 ** 31 - 1) };
  return null;
}

function timeoutOf(values: Map<string, string>): number {
  const text = values.get("timeout");
  return text === undefined ? DEFAULT_TIMEOUT_MS : wholeNumber(text, "--timeout", 1, 3_600_000);
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new CliError(`${what} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`, EXIT_USAGE);
  }
  return value;
}

/** `; did you mean "x"?` for the nearest candidate within two edits, or nothing. */
function suggest(word: string, candidates: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === null ? "" : `; did you mean ${JSON.stringify(best)}?`;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
