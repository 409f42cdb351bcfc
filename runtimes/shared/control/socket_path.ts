/**
 * Where control sockets live: `$XDG_RUNTIME_DIR/bgworker/<pid>.sock`, or
 * `<os tmpdir>/bgworker-<uid>/<pid>.sock` without it. The postmaster and
 * the `bgworker` command both ask here, so `bgworker ps` finds every
 * postmaster of the current user.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/**
 * The current user's directory of control sockets.
 *
 * @example
 * ```ts
 * import { controlSocketDirectory } from "./socket_path.ts";
 * controlSocketDirectory(); // "/run/user/1000/bgworker"
 * ```
 */
export function controlSocketDirectory(): string {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return runtimeDir ? join(runtimeDir, "bgworker") : join(tmpdir(), `bgworker-${process.getuid?.() ?? 0}`);
}

/**
 * The default socket of the postmaster in process `pid`.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { defaultControlSocket } from "./socket_path.ts";
 * defaultControlSocket(process.pid); // "/run/user/1000/bgworker/4242.sock"
 * ```
 */
export function defaultControlSocket(pid: number): string {
  return join(controlSocketDirectory(), `${pid}.sock`);
}

/**
 * The pid a default socket's name gives, or null for another name.
 *
 * @example
 * ```ts
 * import { pidOfControlSocket } from "./socket_path.ts";
 * pidOfControlSocket("4242.sock"); // 4242
 * ```
 */
export function pidOfControlSocket(name: string): number | null {
  const match = /^(\d+)\.sock$/.exec(name);
  return match ? Number(match[1]) : null;
}
