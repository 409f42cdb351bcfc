/**
 * Spawning a worker in a way that does not grow with the application, on a
 * runtime whose spawn copies the application's page tables (fork) only for
 * some options. Deno forks when the child is `detached` or gets a descriptor
 * beyond stdio (an IPC channel): with 1 GiB of Buffers in the postmaster,
 * that held its loop 35-45 ms per spawn. Without either, it uses
 * posix_spawn, which copies nothing (about a millisecond, flat).
 *
 * So the worker gets neither:
 * - its channel is a Unix domain socket it connects to (channel_listener.ts,
 *   socket_channel.ts), in place of the inherited descriptor 3;
 * - it becomes the leader of its own process group (and session), as
 *   `detached` made it, through `setsid`(1), which the spawn runs first:
 *   util-linux's and BusyBox's call setsid() and exec the worker in place
 *   (same pid) when, as here, the caller leads no group. Until then, a
 *   SIGKILL reaches the process alone (worker_process.ts); the core sends
 *   no other signal before the worker reports in.
 *
 * The worker is still the postmaster's own child: exit statuses, captured
 * output (plain pipes) and the watchdog's groups are as with a direct spawn,
 * and its parent is the postmaster. Its title, which `argv0` gave, is in
 * its environment (`setsid` takes the first word), set as it boots.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { channelListener } from "./channel_listener.ts";
import { CHANNEL_SOCKET_VARIABLE, CHANNEL_TOKEN_VARIABLE, TITLE_VARIABLE } from "./socket_channel.ts";
import type { SpawnerRequest } from "./spawner/spawner_script.ts";
import type { WorkerProcessParts } from "./worker_process.ts";

/** Where `setsid`(1) is looked for: util-linux's and BusyBox's places. */
const SETSID_PLACES = ["/usr/bin/setsid", "/bin/setsid"];

/** Milliseconds a token is kept after its worker's exit, for a connection still waiting to be accepted. */
const TOKEN_AFTER_EXIT_MS = 1000;

let setsid: string | null | undefined;

/** The `setsid` binary, found once; null where there is none (then workers are spawned as before). */
function setsidPath(): string | null {
  if (setsid === undefined) {
    setsid = SETSID_PLACES.find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null;
  }
  return setsid;
}

/**
 * Spawn the worker with a socket channel and `setsid`; false when this
 * system lacks either (the caller then spawns as it would have). Throws
 * when no process could be created.
 *
 * @example
 * ```ts
 * import { launchWithSocketChannel } from "./socket_launch.ts";
 * import { assembleWorkerProcess } from "./worker_process.ts";
 * const parts = assembleWorkerProcess({ message() {}, protocolError() {}, exit() {} });
 * const request = { execPath: "/usr/bin/deno", args: ["run", "-A", "worker_main.ts"], env: {}, argv0: "bgworker: spare", capture: false };
 * if (!launchWithSocketChannel(request, parts)) console.log("spawn it another way");
 * ```
 */
export function launchWithSocketChannel(
  request: Omit<SpawnerRequest, "op" | "id">,
  parts: WorkerProcessParts,
): boolean {
  const wrapper = setsidPath();
  const listener = wrapper ? channelListener() : null;
  if (!wrapper || !listener) return false;
  const token = listener.expect((socket, head) => parts.connected(socket, head));
  const env: Record<string, string | undefined> = {
    ...request.env,
    [CHANNEL_SOCKET_VARIABLE]: listener.path,
    [CHANNEL_TOKEN_VARIABLE]: token,
    [TITLE_VARIABLE]: request.argv0,
  };
  // No descriptor 3: the runtime must not look for an IPC channel there.
  delete env.NODE_CHANNEL_FD;
  delete env.NODE_CHANNEL_SERIALIZATION_MODE;
  const output = request.capture ? "pipe" : "inherit";
  let child;
  try {
    // Neither `detached` nor a fourth descriptor: either would make Deno fork (see above).
    child = spawn(wrapper, [request.execPath, ...request.args], {
      argv0: request.argv0,
      stdio: ["ignore", output, output],
      env,
      cwd: request.cwd,
    });
  } catch (error) {
    listener.forget(token);
    throw error;
  }
  // A failed spawn also emits "error" later; without a listener it would crash the postmaster.
  child.on("error", () => {});
  if (child.pid === undefined) {
    listener.forget(token);
    throw new Error(`could not spawn ${request.execPath}`);
  }
  child.on("exit", (code, signal) => {
    parts.exited(code, signal);
    setTimeout(() => listener.forget(token), TOKEN_AFTER_EXIT_MS).unref?.();
  });
  parts.spawned(child.pid, null);
  if (child.stdout) parts.output("stdout", child.stdout);
  if (child.stderr) parts.output("stderr", child.stderr);
  return true;
}
