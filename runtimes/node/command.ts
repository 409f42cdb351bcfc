/**
 * The command line of a worker process on Node: the same `node` binary, the
 * module loaders the postmaster runs with, and tsx where Node cannot strip
 * TypeScript itself (before 22.18).
 *
 * @module
 */

import process from "node:process";
import type { SpawnOptions } from "../../src/adapter.ts";
import type { StartMessage } from "../../src/protocol.ts";
import { bootstrapPath } from "../shared/bootstrap_path.ts";
import type { WorkerCommand } from "../shared/worker_command.ts";

/** Flags that decide how modules load; a worker must resolve imports as its postmaster does. */
const LOADER_FLAGS = new Set([
  "--import",
  "--require",
  "-r",
  "--loader",
  "--experimental-loader",
  "--conditions",
  "-C",
]);
const LOADER_SWITCHES = new Set([
  "--experimental-strip-types",
  "--experimental-transform-types",
  "--no-experimental-strip-types",
  "--enable-source-maps",
]);

/**
 * The loader-related part of `process.execArgv`. The rest (a test runner's
 * `--test-*`, `--inspect-port`, ...) belongs to the postmaster alone.
 *
 * @example
 * ```ts
 * import { loaderFlags } from "./command.ts";
 * loaderFlags(["--import", "tsx", "--inspect-port=0"]); // ["--import", "tsx"]
 * ```
 */
export function loaderFlags(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split("=", 1)[0]!;
    if (LOADER_SWITCHES.has(arg)) kept.push(arg);
    else if (LOADER_FLAGS.has(name)) {
      if (arg.includes("=")) kept.push(arg);
      else if (i + 1 < execArgv.length) kept.push(arg, execArgv[++i]!);
    }
  }
  return kept;
}

const nodeStripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);

function tsxLoader(): string | null {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return null;
  }
}

/**
 * How to start a worker on Node; `null` for a spare. A heap limit becomes
 * V8's old-space limit.
 *
 * @example
 * ```ts
 * import { nodeWorkerCommand } from "./command.ts";
 * const { execPath, args } = nodeWorkerCommand(null); // a spare's: it can take a TypeScript worker later
 * ```
 */
export function nodeWorkerCommand(start: StartMessage | null, options: SpawnOptions = {}): WorkerCommand {
  const flags = loaderFlags(process.execArgv);
  if (options.heapLimitMb !== undefined) flags.unshift(`--max-old-space-size=${options.heapLimitMb}`);
  const bootstrap = bootstrapPath();
  // A spare (no start yet) may be given a TypeScript worker: it must be able to run one.
  const needsTypeScript = /\.m?ts$/.test(bootstrap) || start === null || /\.m?ts$/.test(start.libraryUrl ?? "");
  const hasTsx = flags.some((flag) => flag.includes("tsx"));
  if (needsTypeScript && !nodeStripsTypes && !hasTsx) {
    const tsx = tsxLoader();
    if (tsx) flags.push("--import", tsx);
  }
  return { execPath: process.execPath, args: [...flags, bootstrap] };
}
