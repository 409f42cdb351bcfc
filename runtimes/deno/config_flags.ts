/**
 * The module-resolution flags a Deno postmaster was started with, so that
 * its workers resolve imports the same way. Deno does not expose its own
 * flags (`process.execArgv` is empty), so they are read back from the
 * process's command line where the system shows it (`/proc/self/cmdline`
 * on Linux). Elsewhere, workers rely on the same config discovery as their
 * postmaster: they start in its working directory.
 *
 * @module
 */

import { readFileSync } from "node:fs";

/** Flags that take their value as the next argument when not written with `=`. */
const WITH_VALUE = new Set(["-c", "--config", "--import-map", "--conditions"]);
/** Flags passed on as they are (with an `=value` when given one). */
const PASSED = new Set([
  ...WITH_VALUE,
  "--no-config",
  "--lock",
  "--no-lock",
  "--frozen",
  "--node-modules-dir",
  "--vendor",
  "--cached-only",
  "--no-remote",
  "--no-npm",
]);

/**
 * Pick the module-resolution flags out of a `deno` command line: those
 * between the subcommand (if any) and the script.
 *
 * @example
 * ```ts
 * import { denoResolutionFlags } from "./config_flags.ts";
 * denoResolutionFlags(["deno", "run", "-A", "--config", "alt.json", "app.ts", "--config", "x"]);
 * // ["--config", "alt.json"]
 * denoResolutionFlags(["deno", "--import-map=map.json", "app.ts"]); // ["--import-map=map.json"]
 * ```
 */
export function denoResolutionFlags(commandLine: readonly string[]): string[] {
  const kept: string[] = [];
  // Skip the binary and the subcommand (run, test, serve, ...; `deno app.ts` has none); stop at the script.
  const first = /^[a-z]+$/.test(commandLine[1] ?? "") ? 2 : 1;
  for (let i = first; i < commandLine.length; i++) {
    const arg = commandLine[i]!;
    if (!arg.startsWith("-")) break;
    const name = arg.split("=", 1)[0]!;
    const takesNext = WITH_VALUE.has(name) && !arg.includes("=");
    if (PASSED.has(name) || name.startsWith("--unstable")) {
      kept.push(arg);
      if (takesNext && i + 1 < commandLine.length) kept.push(commandLine[i + 1]!);
    }
    if (takesNext) i++;
  }
  return kept;
}

/**
 * This process's command line, or `null` where the system does not show it
 * (or reading it is not permitted).
 *
 * @example
 * ```ts
 * import { ownCommandLine } from "./config_flags.ts";
 * console.log(ownCommandLine()?.[1]); // "run"
 * ```
 */
export function ownCommandLine(): string[] | null {
  try {
    const raw = readFileSync("/proc/self/cmdline", "utf8");
    return raw.split("\0").slice(0, -1);
  } catch {
    return null;
  }
}
