/**
 * Which control sockets a command talks to: the one `--socket` or `--pid`
 * names, or the ones found in the current user's socket directory
 * (`controlSocketDirectory()`), where every postmaster started with
 * `controlSocket: true` puts `<pid>.sock`.
 *
 * @module
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { controlSocketDirectory, defaultControlSocket, pidOfControlSocket } from "../control/socket_path.ts";
import { processExists } from "../process_exists.ts";
import type { Target } from "./args.ts";
import { CliError, EXIT_UNREACHABLE, EXIT_USAGE } from "./errors.ts";

/**
 * A control socket: its path and the pid of the postmaster that made it
 * (null when the path was given and its name says none).
 *
 * @example
 * ```ts
 * import type { SocketRef } from "./discovery.ts";
 * const ref: SocketRef = { path: "/run/user/1000/bgworker/4242.sock", pid: 4242 };
 * ```
 */
export interface SocketRef {
  path: string;
  pid: number | null;
}

/**
 * A socket found in the directory, and whether its postmaster's pid is
 * still alive (a dead one left a stale socket behind).
 *
 * @example
 * ```ts
 * import type { FoundSocket } from "./discovery.ts";
 * const found: FoundSocket = { path: "/tmp/bgworker-1000/4242.sock", pid: 4242, alive: false };
 * ```
 */
export interface FoundSocket {
  path: string;
  pid: number;
  alive: boolean;
}

/**
 * Every `<pid>.sock` in `directory`, by pid; none when the directory does
 * not exist.
 *
 * @example
 * ```ts
 * import { findControlSockets } from "./discovery.ts";
 * for (const { path, alive } of findControlSockets()) console.log(path, alive ? "" : "(stale)");
 * ```
 */
export function findControlSockets(directory: string = controlSocketDirectory()): FoundSocket[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    if (code === "EACCES" || code === "EPERM") {
      throw new CliError(
        `permission denied for ${directory}: it belongs to another user; run bgworker as the user who started the postmaster`,
        EXIT_UNREACHABLE,
        { cause: error },
      );
    }
    throw new CliError(`cannot read ${directory}: ${(error as Error).message}`, EXIT_UNREACHABLE, { cause: error });
  }
  return names.flatMap((name) => {
    const pid = pidOfControlSocket(name);
    return pid === null ? [] : [{ path: join(directory, name), pid, alive: processExists(pid) }];
  }).sort((a, b) => a.pid - b.pid);
}

/**
 * The sockets a command that can talk to many (`ps`) should ask: the one
 * given, or every live one found. `skipped` lists the stale sockets left
 * out, to say so on stderr.
 *
 * @example
 * ```ts
 * import { socketsToAsk } from "./discovery.ts";
 * const { sockets, skipped } = socketsToAsk(null);
 * ```
 */
export function socketsToAsk(
  target: Target,
  directory: string = controlSocketDirectory(),
): { sockets: SocketRef[]; skipped: FoundSocket[] } {
  if (target !== null) return { sockets: [given(target)], skipped: [] };
  const found = findControlSockets(directory);
  const sockets = found.filter((s) => s.alive).map(({ path, pid }) => ({ path, pid }));
  const skipped = found.filter((s) => !s.alive);
  if (sockets.length === 0) throw noneFound(directory, skipped);
  return { sockets, skipped };
}

/**
 * The one socket a command that needs exactly one postmaster should ask:
 * the one given, or the only live one found. None found is a
 * {@link CliError} with {@link EXIT_UNREACHABLE} saying where it looked;
 * several found, one with {@link EXIT_USAGE} listing them.
 *
 * @example
 * ```ts
 * import { oneSocket } from "./discovery.ts";
 * const { socket } = oneSocket({ pid: 4242 }); // { path: ".../4242.sock", pid: 4242 }
 * ```
 */
export function oneSocket(
  target: Target,
  directory: string = controlSocketDirectory(),
): { socket: SocketRef; skipped: FoundSocket[] } {
  const { sockets, skipped } = socketsToAsk(target, directory);
  if (sockets.length > 1) {
    const list = sockets.map((s) => `${s.pid} (${s.path})`).join(", ");
    throw new CliError(
      `several postmasters found in ${directory}: ${list}; choose one with --pid PID or --socket PATH`,
      EXIT_USAGE,
    );
  }
  return { socket: sockets[0]!, skipped };
}

/**
 * The line that says a stale socket was left out.
 *
 * @example
 * ```ts
 * import { skippedNote } from "./discovery.ts";
 * skippedNote({ path: "/tmp/bgworker-0/77.sock", pid: 77, alive: false });
 * // "skipped stale control socket /tmp/bgworker-0/77.sock: the postmaster that made it (pid 77) is gone"
 * ```
 */
export function skippedNote(socket: FoundSocket): string {
  return `skipped stale control socket ${socket.path}: the postmaster that made it (pid ${socket.pid}) is gone`;
}

function given(target: { socket: string } | { pid: number }): SocketRef {
  if ("pid" in target) return { path: defaultControlSocket(target.pid), pid: target.pid };
  const name = target.socket.split("/").at(-1) ?? "";
  return { path: target.socket, pid: pidOfControlSocket(name) };
}

function noneFound(directory: string, skipped: FoundSocket[]): CliError {
  const stale = skipped.length === 0
    ? "no control socket there"
    : `only stale sockets there, of postmasters that are gone (pid ${skipped.map((s) => s.pid).join(", ")})`;
  return new CliError(
    `no postmaster found: looked in ${directory}, ${stale}. A postmaster makes its socket with new Postmaster({ controlSocket: true }); give another with --socket PATH`,
    EXIT_UNREACHABLE,
  );
}
