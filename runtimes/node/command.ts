/**
 * The command line of a worker process on Node: the same `node` binary, the
 * module loaders the postmaster runs with, tsx where Node cannot strip
 * TypeScript itself (before 22.18) and a TypeScript worker is to run, and
 * Node's compile cache (22.1 and later).
 *
 * @module
 */

import process from "node:process";
import type { SpawnOptions } from "../../src/adapter.ts";
import type { StartMessage } from "../../src/protocol.ts";
import { isTypeScriptUrl } from "../../src/typescript_url.ts";
import { bootstrapPath } from "../shared/bootstrap_path.ts";
import { WARM_TYPESCRIPT_ENV, type WorkerCommand } from "../shared/worker_command.ts";
import { compileCacheActive, compileCacheEnv } from "./compile_cache.ts";

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
 * How to start a worker on Node; `start` is `null` for a spare. A heap
 * limit becomes V8's old-space limit. Every worker gets Node's compile
 * cache where Node has one (see compile_cache.ts).
 *
 * TypeScript costs a Node process before it runs any: tsx, on a Node that
 * cannot strip types itself (before 22.18), 100-200 ms of CPU at boot;
 * the type stripper, on later Node, 25-30 ms at the first `.ts` import. A
 * cold start pays for it when its library is TypeScript. A spare, whose
 * worker is not known yet, pays ahead only when a TypeScript worker is
 * expected: the bootstrap itself is TypeScript (bgworker runs from its
 * sources, and needs tsx to boot at all), the postmaster's own program is
 * TypeScript (its workers likely are), or the spare pool says so
 * (`SpawnOptions.typeScript`: a `spareWorkerLibraries` module is
 * TypeScript). Such a spare gets tsx, or warms the stripper while it waits
 * (unless the compile cache spares the stripper: see {@link typeScriptPath}).
 * Any other spare stays lean, and a TypeScript worker given to it loads
 * tsx, or the stripper, as it starts (runtimes/shared/worker_typescript.ts):
 * slower than an expected one, faster than a cold start.
 *
 * @example
 * ```ts
 * import { nodeWorkerCommand } from "./command.ts";
 * const { execPath, args } = nodeWorkerCommand(null, { typeScript: true }); // a spare, ready for a TypeScript worker
 * ```
 */
export function nodeWorkerCommand(start: StartMessage | null, options: SpawnOptions = {}): WorkerCommand {
  const flags = loaderFlags(process.execArgv);
  if (options.heapLimitMb !== undefined) flags.unshift(`--max-old-space-size=${options.heapLimitMb}`);
  const bootstrap = bootstrapPath();
  const env = compileCacheEnv();
  const path = typeScriptPath({
    compileCache: compileCacheActive(env),
    bootstrap,
    expected: start
      ? isTypeScriptUrl(start.libraryUrl ?? "")
      : options.typeScript === true || isTypeScriptUrl(process.argv[1] ?? ""),
    spare: start === null,
    stripsTypes: nodeStripsTypes,
    hasTsx: flags.some((flag) => flag.includes("tsx")),
  });
  if (path === "tsx") {
    const tsx = tsxLoader();
    if (tsx) flags.push("--import", tsx);
  } else if (path === "warm stripper") env[WARM_TYPESCRIPT_ENV] = "1";
  return { execPath: process.execPath, args: [...flags, bootstrap], env };
}

/**
 * What a Node worker's command does about TypeScript (see
 * {@link nodeWorkerCommand}): add tsx, have the spare warm the type
 * stripper, or nothing.
 *
 * @example
 * ```ts
 * import { typeScriptPath } from "./command.ts";
 * const facts = { bootstrap: "/app/dist/worker_main.js", spare: true, hasTsx: false, compileCache: false };
 * typeScriptPath({ ...facts, expected: true, stripsTypes: false }); // "tsx"
 * typeScriptPath({ ...facts, expected: true, stripsTypes: true }); // "warm stripper"
 * ```
 */
export function typeScriptPath(
  facts: {
    /** The worker entry's path: `.ts` when bgworker runs from its sources. */
    bootstrap: string;
    /** A TypeScript library is to be imported (a cold start's), or expected (a spare's). */
    expected: boolean;
    /** The process is a spare. */
    spare: boolean;
    /** This Node strips types itself. */
    stripsTypes: boolean;
    /** tsx is among the loader flags the worker inherits already. */
    hasTsx: boolean;
    /** The worker runs with Node's compile cache. */
    compileCache: boolean;
  },
): "tsx" | "warm stripper" | "none" {
  const { bootstrap, expected, spare, stripsTypes, hasTsx, compileCache } = facts;
  const bootstrapIsTypeScript = isTypeScriptUrl(bootstrap);
  if (!stripsTypes) return !hasTsx && (bootstrapIsTypeScript || expected) ? "tsx" : "none";
  // A bootstrap in TypeScript has loaded the stripper by the time it runs; a cold start's import follows at once.
  // With the compile cache, a module imported before comes stripped from the cache and the stripper never loads
  // (measured: 3 ms to main either way): warming it would cost each spare 17 MB for a module's first import only.
  return spare && expected && !bootstrapIsTypeScript && !compileCache ? "warm stripper" : "none";
}
