/**
 * The postmaster's options and their checks. Options are checked as
 * strictly as registrations: each is read once, an unknown name is a
 * TypeError that names it and the nearest known one, a wrong type is a
 * TypeError that says what it must be, a value out of range a RangeError.
 *
 * @module
 */

import type { RuntimeAdapter } from "../adapter.ts";
import { errorText } from "../errors.ts";
import type { LogLevel } from "../log_level.ts";
import { checkWorkerOptions, type WorkerOptions } from "../worker_options.ts";
import { checkClusterOption, type CheckedClusterOption, type ClusterOption } from "./cluster_option.ts";
import { type DatabaseClusterOption, validateDatabaseOption } from "./database_cluster.ts";
import type { Postmaster } from "./postmaster.ts";

/**
 * Which worker a log line is about or from.
 *
 * @example
 * ```ts
 * import type { WorkerIdentity } from "bgworker";
 * const who = (w: WorkerIdentity) => `${w.name} [${w.pid}] slot ${w.slot}.${w.generation}`;
 * ```
 */
export interface WorkerIdentity {
  /** Its `bgw_name`. */
  name: string;
  /** Its `bgw_type`. */
  type: string;
  /** Its process id, or null when no process is meant. */
  pid: number | null;
  /** Its slot. */
  slot: number;
  /** The slot's generation: with `slot`, its handle. */
  generation: number;
}

/**
 * What a log line is about, for a logger to filter or format on.
 *
 * @example
 * ```ts
 * import type { LogContext } from "bgworker";
 * const fromWorker = (context?: LogContext) => context?.stream !== undefined;
 * ```
 */
export interface LogContext {
  /** The worker the line is about or from. */
  worker?: WorkerIdentity;
  /** Set when the worker itself wrote the line: on its stdout or stderr, or with `elog`. */
  stream?: "stdout" | "stderr" | "elog";
}

/**
 * Receives every log line, with PostgreSQL's wording, before formatting,
 * and for a line about or from a worker, which one. A two-argument logger
 * works as it did.
 *
 * @example
 * ```ts
 * import type { Logger } from "bgworker";
 * const quiet: Logger = (level, message, context) => {
 *   if (level !== "DEBUG1") console.error(context?.worker ? `[${context.worker.name}] ${message}` : message);
 * };
 * ```
 */
export type Logger = (level: LogLevel, message: string, context?: LogContext) => void;

/**
 * Options of the {@link Postmaster}.
 *
 * @example
 * ```ts
 * import type { PostmasterOptions } from "bgworker";
 * const options: PostmasterOptions = { maxWorkerProcesses: 4, restartAfterCrash: true };
 * ```
 */
export interface PostmasterOptions {
  /** Slots shared by static and dynamic workers (`max_worker_processes`); default 8. */
  maxWorkerProcesses?: number;
  /** Modules imported at `start()`; each exported `_PG_init(pm)` is called and may register static workers. */
  sharedPreloadLibraries?: string[];
  /** Directories searched for bare `bgw_library_name` values, in order. */
  dynamicLibraryPath?: string[];
  /** After a crash of a shared-memory worker, restart the workers (`restart_after_crash`); default true. */
  restartAfterCrash?: boolean;
  /** Begin in recovery: only `BgWorkerStart_PostmasterStart` workers start until `beginHotStandby()`. */
  recovery?: boolean;
  /** Milliseconds between SIGTERM (or SIGQUIT) and SIGKILL in `stop()` and crash handling; default 5000, PostgreSQL's SIGKILL_CHILDREN_AFTER_SECS. */
  stopTimeoutMs?: number;
  /** Replaces the default logger, which writes LOG and WARNING lines through the adapter. */
  logger?: Logger;
  /**
   * Runtime processes kept booted and waiting, so that a worker starts with
   * one message instead of a runtime boot; default 0. Each spare serves one
   * worker, is replaced in the background, counts against nothing, and dies
   * with the postmaster.
   */
  spareWorkerProcesses?: number;
  /**
   * Libraries every spare imports ahead (resolved like `bgw_library_name`),
   * so that a worker whose library is listed starts with it loaded. Their
   * top-level code runs in each spare, as PostgreSQL's EXEC_BACKEND children
   * load `shared_preload_libraries` again. Default none.
   */
  spareWorkerLibraries?: string[];
  /**
   * The PostgreSQL cluster of workers registered with
   * `BGWORKER_BACKEND_DATABASE_CONNECTION`: `{ url }` for a real server, or
   * the default `{ embedded: { dataDir? } }`, started when the first such
   * worker is about to start. Workers get the connection parameters by
   * value; the URL's password never appears in titles or logs.
   */
  database?: DatabaseClusterOption;
  /**
   * Take the process's SIGTERM and SIGINT as `stop("fast")` and SIGQUIT as
   * `stop("immediate")` from `start()` on (a second SIGTERM or SIGINT during
   * a fast stop escalates to immediate); once stopped, the process ends by
   * that signal unless the application listens for it itself. Default true.
   */
  handleSignals?: boolean;
  /**
   * Where a worker's stdout and stderr go: `"logger"` (the default) reads
   * them line by line into the logger, with the worker named; `"inherit"`
   * shares the application's.
   */
  workerOutput?: "logger" | "inherit";
  /** Options every worker gets unless its registration gives its own (field by field): see {@link WorkerOptions}. */
  workerDefaults?: WorkerOptions;
  /**
   * A control socket for the `bgworker` command and other tools, opened at
   * `start()` and removed at `stop()`: `true` for the default place
   * (`$XDG_RUNTIME_DIR/bgworker/<pid>.sock`, or `<tmpdir>/bgworker-<uid>/<pid>.sock`), or a path. Off by default.
   */
  controlSocket?: boolean | string;
  /** Join a cluster of postmasters on many hosts through a PostgreSQL database: see {@link ClusterOption}. */
  cluster?: ClusterOption;
}

/**
 * Options of the core {@link Postmaster}: the public options plus the runtime adapter.
 *
 * @example
 * ```ts
 * import type { CorePostmasterOptions } from "./options.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const options: CorePostmasterOptions = { adapter, maxWorkerProcesses: 2 };
 * ```
 */
export interface CorePostmasterOptions extends PostmasterOptions {
  /** The runtime the postmaster drives processes with. */
  adapter: RuntimeAdapter;
}

/**
 * The constructor each runtime's entry point exports as `Postmaster`: the
 * core class with the runtime's adapter filled in (another may be given).
 *
 * @example
 * ```ts
 * import { Postmaster, type PostmasterConstructor } from "bgworker";
 * const Make: PostmasterConstructor = Postmaster;
 * const pm = new Make({ maxWorkerProcesses: 2 });
 * ```
 */
export type PostmasterConstructor = new (options?: PostmasterOptions & { adapter?: RuntimeAdapter }) => Postmaster;

/**
 * The options after their checks, every default filled in.
 *
 * @example
 * ```ts
 * import { checkPostmasterOptions, type CheckedOptions } from "./options.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const checked: CheckedOptions = checkPostmasterOptions({ adapter });
 * checked.maxWorkerProcesses; // 8
 * ```
 */
export interface CheckedOptions {
  adapter: RuntimeAdapter;
  maxWorkerProcesses: number;
  sharedPreloadLibraries: readonly string[];
  dynamicLibraryPath: readonly string[];
  restartAfterCrash: boolean;
  recovery: boolean;
  stopTimeoutMs: number;
  logger: Logger | null;
  spareWorkerProcesses: number;
  spareWorkerLibraries: readonly string[];
  database: DatabaseClusterOption;
  handleSignals: boolean;
  workerDefaults: Readonly<WorkerOptions>;
  workerOutput: "logger" | "inherit";
  /** The control socket's path, `true` for the default place, or null when there is none. */
  controlSocket: string | true | null;
  cluster: CheckedClusterOption | null;
}

const KNOWN = [
  "adapter",
  "maxWorkerProcesses",
  "sharedPreloadLibraries",
  "dynamicLibraryPath",
  "restartAfterCrash",
  "recovery",
  "stopTimeoutMs",
  "logger",
  "spareWorkerProcesses",
  "spareWorkerLibraries",
  "database",
  "handleSignals",
  "workerDefaults",
  "workerOutput",
  "controlSocket",
  "cluster",
] as const;

/**
 * Check the options (each read once) and fill in the defaults.
 *
 * @example
 * ```ts
 * import { checkPostmasterOptions } from "./options.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * checkPostmasterOptions({ adapter, maxWorkerProcesses: 4 }).maxWorkerProcesses; // 4
 * ```
 */
export function checkPostmasterOptions(options: unknown): CheckedOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Postmaster options must be an object; got ${describeValue(options)}`);
  }
  const given: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!(KNOWN as readonly string[]).includes(key)) {
      throw new TypeError(`unknown Postmaster option "${quote(key)}"; did you mean "${nearest(key, KNOWN)}"?`);
    }
    given[key] = (options as Record<string, unknown>)[key];
  }
  const adapter = given.adapter as RuntimeAdapter;
  if (typeof adapter !== "object" || adapter === null) {
    throw new TypeError("Postmaster option adapter must be a RuntimeAdapter");
  }
  return {
    adapter,
    maxWorkerProcesses: integerOption(given, "maxWorkerProcesses", 8, 0, 262_143),
    sharedPreloadLibraries: stringListOption(given, "sharedPreloadLibraries"),
    dynamicLibraryPath: stringListOption(given, "dynamicLibraryPath"),
    restartAfterCrash: booleanOption(given, "restartAfterCrash", true),
    recovery: booleanOption(given, "recovery", false),
    stopTimeoutMs: millisecondsOption(given, "stopTimeoutMs", 5000),
    logger: functionOption(given, "logger") as Logger | null,
    spareWorkerProcesses: integerOption(given, "spareWorkerProcesses", 0, 0, 1024),
    spareWorkerLibraries: stringListOption(given, "spareWorkerLibraries"),
    database: validateDatabaseOption(given.database),
    handleSignals: booleanOption(given, "handleSignals", true),
    workerDefaults: workerDefaultsOption(given.workerDefaults),
    workerOutput: workerOutputOption(given.workerOutput),
    controlSocket: controlSocketOption(given.controlSocket),
    cluster: checkClusterOption(given.cluster),
  };
}

function controlSocketOption(value: unknown): string | true | null {
  if (value === undefined || value === false) return null;
  if (value === true) return true;
  if (typeof value !== "string" || value === "" || value.includes("\0")) {
    throw new TypeError(`controlSocket must be true, false or a socket path; got ${describeValue(value)}`);
  }
  return value;
}

function workerOutputOption(value: unknown): "logger" | "inherit" {
  if (value === undefined) return "logger";
  if (value !== "logger" && value !== "inherit") {
    throw new TypeError(`workerOutput must be "logger" or "inherit"; got ${describeValue(value)}`);
  }
  return value;
}

function workerDefaultsOption(value: unknown): Readonly<WorkerOptions> {
  try {
    return checkWorkerOptions(value, "(workerDefaults)");
  } catch (error) {
    throw new TypeError(`workerDefaults: ${errorText(error)}`, { cause: error });
  }
}

function integerOption(
  given: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = given[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be an integer from ${min} to ${max}; got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

function millisecondsOption(given: Record<string, unknown>, name: string, fallback: number): number {
  const value = given[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a non-negative number of milliseconds; got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number of milliseconds; got ${String(value)}`);
  }
  return value;
}

function booleanOption(given: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = given[name];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be true or false; got ${describeValue(value)}`);
  return value;
}

function stringListOption(given: Record<string, unknown>, name: string): readonly string[] {
  const value = given[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of strings; got ${describeValue(value)}`);
  const copy = [...value];
  copy.forEach((item, index) => {
    if (typeof item !== "string" || item === "") {
      throw new TypeError(`${name}[${index}] must be a non-empty string; got ${describeValue(item)}`);
    }
  });
  return Object.freeze(copy as string[]);
}

function functionOption(given: Record<string, unknown>, name: string): ((...args: never[]) => unknown) | null {
  const value = given[name];
  if (value === undefined) return null;
  if (typeof value !== "function") {
    throw new TypeError(`${name} must be a function (level, message) => void; got ${describeValue(value)}`);
  }
  return value as (...args: never[]) => unknown;
}

/**
 * A short description of a bad value for an error message: its type, and
 * at most about 80 characters of it.
 *
 * @example
 * ```ts
 * import { describeValue } from "./options.ts";
 * describeValue("lib.ts"); // 'the string "lib.ts"'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string "${quote(value)}"`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${quote(String(value))}`;
}

function quote(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The known name closest to `name`: case and underscores ignored, then by edit distance. */
function nearest(name: string, known: readonly string[]): string {
  const squash = (s: string) => s.toLowerCase().replaceAll("_", "");
  const target = squash(name.slice(0, 100));
  let best = known[0]!;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(target, squash(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
