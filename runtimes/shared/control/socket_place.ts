/**
 * Making the place of a control socket safe before listening there: its
 * directory is the user's own (created with mode 0700 in the default
 * place), and what is at the path is either nothing or a stale socket of a
 * postmaster that is gone, which is removed. Anything else is refused with
 * an error that says what and where.
 *
 * @module
 */

import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, type Stats } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { pidOfControlSocket } from "./socket_path.ts";
import { processExists } from "../process_exists.ts";

/**
 * Prepare `path` for a new control socket; `isDefault` for the default
 * place, whose directory is created (0700) and swept of the sockets of
 * dead postmasters.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * import { prepareSocketPlace } from "./socket_place.ts";
 * import { defaultControlSocket } from "./socket_path.ts";
 * await prepareSocketPlace(defaultControlSocket(process.pid), true);
 * ```
 */
export async function prepareSocketPlace(path: string, isDefault: boolean): Promise<void> {
  const dir = dirname(path);
  const uid = process.getuid?.() ?? 0;
  if (isDefault) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirStat = statOrNull(dir);
  if (!dirStat?.isDirectory()) throw new Error(`control socket: "${dir}" is not a directory`);
  if (dirStat.uid !== uid && !(dirStat.uid === 0 && !isDefault)) {
    throw new Error(
      `control socket: the directory "${dir}" belongs to another user (uid ${dirStat.uid}); refusing to listen there`,
    );
  }
  // The default place is ours alone: no other account may list or enter it.
  if (isDefault && (dirStat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  if (isDefault) await sweepDeadPostmasters(dir);
  const existing = statOrNull(path);
  if (!existing) return;
  if (!existing.isSocket()) throw new Error(`control socket: "${path}" exists and is not a socket`);
  if (existing.uid !== uid) {
    throw new Error(`control socket: "${path}" belongs to another user (uid ${existing.uid})`);
  }
  if (await answers(path)) throw new Error(`control socket: another postmaster listens at "${path}"`);
  rmSync(path, { force: true }); // stale: its postmaster is gone
}

/** Remove the default sockets whose postmaster's pid no longer exists. */
async function sweepDeadPostmasters(dir: string): Promise<void> {
  for (const name of readdirSync(dir)) {
    const pid = pidOfControlSocket(name);
    if (pid === null || pid === process.pid || processExists(pid)) continue;
    const path = join(dir, name);
    if (statOrNull(path)?.isSocket() && !(await answers(path))) rmSync(path, { force: true });
  }
}

/** Whether something accepts a connection at `path`: refused at once when nothing listens there. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // A listener too busy to accept within seconds is still a listener: its socket is not stale.
    const timer = setTimeout(() => done(true), 3000);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
