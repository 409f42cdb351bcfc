/**
 * The command line of a worker process on Deno: the same `deno` binary,
 * `deno run` with the permissions the postmaster holds, never prompting,
 * and the module-resolution flags the postmaster was started with
 * (`--config`, `--import-map`, ...; see config_flags.ts). The worker starts
 * in the postmaster's working directory, so without such flags Deno finds
 * the same `deno.json` (and its import map) by the same discovery.
 *
 * @module
 */

import type { SpawnOptions } from "../../src/adapter.ts";
import { bootstrapPath } from "../shared/bootstrap_path.ts";
import type { WorkerCommand } from "../shared/worker_command.ts";
import { denoResolutionFlags, ownCommandLine } from "./config_flags.ts";

interface DenoPermissions {
  querySync(descriptor: { name: string }): { state: string };
}
interface DenoGlobal {
  execPath(): string;
  permissions: DenoPermissions;
}

const PERMISSIONS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

/**
 * `--allow-*` flags for every permission the postmaster holds in full; `-A`
 * when it holds them all. Partial grants (a path list) cannot be read back
 * from Deno, so a worker gets only what its postmaster holds whole.
 *
 * @example
 * ```ts
 * import { denoPermissionFlags } from "./command.ts";
 * denoPermissionFlags((name) => name === "read"); // ["--allow-read"]
 * ```
 */
export function denoPermissionFlags(granted: (name: string) => boolean): string[] {
  const held = PERMISSIONS.filter((name) => granted(name));
  return held.length === PERMISSIONS.length ? ["-A"] : held.map((name) => `--allow-${name}`);
}

/**
 * How to start a worker on Deno. A heap limit becomes V8's old-space limit.
 *
 * @example
 * ```ts
 * import { denoWorkerCommand } from "./command.ts";
 * const { execPath, args } = denoWorkerCommand();
 * ```
 */
export function denoWorkerCommand(_start?: unknown, options: SpawnOptions = {}): WorkerCommand {
  const deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno;
  const flags = denoPermissionFlags((name) => {
    try {
      return deno.permissions.querySync({ name }).state === "granted";
    } catch {
      return false; // a permission name this Deno does not know
    }
  });
  const heapLimit = options.heapLimitMb === undefined ? [] : [`--v8-flags=--max-old-space-size=${options.heapLimitMb}`];
  return {
    execPath: deno.execPath(),
    args: ["run", "--no-prompt", ...heapLimit, ...flags, ...resolutionFlags(), bootstrapPath()],
  };
}

let cachedResolutionFlags: string[] | null = null;

/** The postmaster's own resolution flags, read once: they cannot change while it runs. */
function resolutionFlags(): string[] {
  if (cachedResolutionFlags === null) {
    const commandLine = ownCommandLine();
    cachedResolutionFlags = commandLine ? denoResolutionFlags(commandLine) : [];
  }
  return cachedResolutionFlags;
}
