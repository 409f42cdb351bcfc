/**
 * How a Deno postmaster spawns its workers: with a socket channel and
 * `setsid` (runtimes/shared/socket_launch.ts), which Deno spawns with
 * posix_spawn, so a spawn costs the same with 1 GiB of Buffers in the
 * application as with none. Not through a spawner: Deno's IPC passed
 * descriptors unreliably under load (with 100 workers spawned at once
 * through one, one in about four rounds never reported in).
 *
 * The socket needs `--allow-read`, `--allow-write` and `--allow-net` to
 * listen on (the postmaster) and to connect to (the worker, which gets the
 * permissions its postmaster holds in full); without them, or without
 * `setsid`, workers are spawned as before, forked from the postmaster's loop.
 *
 * @module
 */

import { launchWithSocketChannel } from "../shared/socket_launch.ts";
import type { SpawnerRequest } from "../shared/spawner/spawner_script.ts";
import type { WorkerProcessParts } from "../shared/worker_process.ts";

interface DenoPermissions {
  querySync(descriptor: { name: string }): { state: string };
}

/** What the socket takes: a file to create and a Unix socket to listen on or connect to. */
const SOCKET_PERMISSIONS = ["read", "write", "net"];

/**
 * Spawn a worker over a socket channel when the postmaster's permissions
 * allow it; false otherwise (the caller then spawns it itself).
 *
 * @example
 * ```ts
 * import { denoLaunch } from "./launch.ts";
 * import { createProcessAdapter } from "../shared/process_adapter.ts";
 * import { denoWorkerCommand } from "./command.ts";
 * const adapter = createProcessAdapter(denoWorkerCommand, { launch: denoLaunch });
 * ```
 */
export function denoLaunch(request: Omit<SpawnerRequest, "op" | "id">, parts: WorkerProcessParts): boolean {
  return holdsSocketPermissions() && launchWithSocketChannel(request, parts);
}

function holdsSocketPermissions(): boolean {
  const permissions = (globalThis as unknown as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  if (!permissions) return false;
  return SOCKET_PERMISSIONS.every((name) => {
    try {
      return permissions.querySync({ name }).state === "granted";
    } catch {
      return false;
    }
  });
}
