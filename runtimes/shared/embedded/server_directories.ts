/**
 * The directories and the account of the embedded PostgreSQL server: the
 * data directory (kept, or temporary), the private directory of its Unix
 * socket, and, as root, the unprivileged account it runs as. A temporary
 * directory carries its postmaster's pid in its name, so the next start
 * removes what a killed postmaster left.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { processExists } from "../process_exists.ts";

/**
 * Who the server runs as: `null` for this process's own account; as root,
 * `nobody`, since PostgreSQL refuses to run as root.
 *
 * @example
 * ```ts
 * import type { ServerAccount } from "./server_directories.ts";
 * const nobody: ServerAccount = { name: "nobody", uid: 65534, gid: 65534 };
 * ```
 */
export interface ServerAccount {
  name: string;
  uid: number;
  gid: number;
}

/** The prefix of the temporary directories, followed by the owning process's pid. */
const TEMPORARY_PREFIX = "bgworker-pg-";

/**
 * The account the server runs as.
 *
 * @example
 * ```ts
 * import { serverAccount } from "./server_directories.ts";
 * serverAccount(); // null, or { name: "nobody", uid: 65534, gid: 65534 } as root
 * ```
 */
export function serverAccount(): ServerAccount | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string, fallback: number) => {
    try {
      return Number(execFileSync("id", [flag, "nobody"], { encoding: "utf8" }).trim());
    } catch {
      return fallback; // nobody's usual ids
    }
  };
  return { name: "nobody", uid: id("-u", 65534), gid: id("-g", 65534) };
}

/**
 * Where one server lives: its data directory, the private directory its
 * socket is in, and what to remove when it stops.
 *
 * @example
 * ```ts
 * import type { ServerDirectories } from "./server_directories.ts";
 * const show = (d: ServerDirectories) => `${d.data} (socket in ${d.socket})`;
 * ```
 */
export interface ServerDirectories {
  /** The data directory (PGDATA). */
  data: string;
  /** Whether it still needs initdb. */
  needsInitdb: boolean;
  /** The socket's directory: mode 0700, the server account's. */
  socket: string;
  /** Removed at stop: the temporary directory holding the socket (and the data, when not kept). */
  temporary: string;
}

/**
 * Make the directories of a server: a kept `dataDir` (created when missing,
 * given to the server's account) or a temporary one, and a private socket
 * directory. Temporary directories of dead postmasters are removed first.
 *
 * @example
 * ```ts
 * import { serverAccount, serverDirectories } from "./server_directories.ts";
 * const dirs = serverDirectories("./pgdata", serverAccount());
 * ```
 */
export function serverDirectories(dataDir: string | undefined, account: ServerAccount | null): ServerDirectories {
  removeStaleTemporaryDirectories();
  const temporary = mkdtempSync(join(tmpdir(), `${TEMPORARY_PREFIX}${process.pid}-`));
  chmodSync(temporary, 0o700);
  if (account) chownSync(temporary, account.uid, account.gid);
  if (dataDir === undefined) return { data: join(temporary, "data"), needsInitdb: true, socket: temporary, temporary };
  const data = resolve(dataDir);
  mkdirSync(data, { recursive: true });
  if (account) {
    requireReachable(data, account);
    giveTo(data, account);
  }
  removeStalePidFile(data);
  return { data, needsInitdb: !existsSync(join(data, "PG_VERSION")), socket: temporary, temporary };
}

/** Remove the temporary directories whose postmaster is gone (killed before it could remove them itself). */
function removeStaleTemporaryDirectories(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^bgworker-pg-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || processExists(pid)) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // Another account's: not ours to remove.
    }
  }
}

/**
 * A `postmaster.pid` left by a killed server names a pid that may since
 * belong to another process, or still be the killed server's zombie, which
 * PostgreSQL would take for a running server; on Linux such a file is
 * removed when that pid is not a live postgres.
 */
function removeStalePidFile(data: string): void {
  const pidFile = join(data, "postmaster.pid");
  try {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n", 1)[0]);
    if (!pid || !existsSync("/proc/self/comm")) return;
    let stat = "";
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return; // no such process: PostgreSQL sees the file is stale itself
    }
    // "pid (comm) state …": a zombie (a killed server its new parent has not reaped yet) answers kill(pid, 0) too.
    const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (command !== "postgres" || state === "Z") rmSync(pidFile, { force: true });
  } catch {
    // No pid file: nothing stale.
  }
}

/** Give a directory and what is in it to the server's account (a data directory root created). */
function giveTo(path: string, account: ServerAccount): void {
  const stat = statSync(path);
  if (stat.uid === account.uid) return;
  chownSync(path, account.uid, account.gid);
  if (!stat.isDirectory()) return;
  for (const name of readdirSync(path)) giveTo(join(path, name), account);
}

/** The server's account must be able to pass through every directory above its data directory. */
function requireReachable(path: string, account: ServerAccount): void {
  for (let dir = dirname(path);; dir = dirname(dir)) {
    const { mode, uid, gid } = statSync(dir);
    const searchable = uid === account.uid ? mode & 0o100 : gid === account.gid ? mode & 0o010 : mode & 0o001;
    if (!searchable) {
      throw new Error(
        `the embedded PostgreSQL server runs as "${account.name}" (PostgreSQL refuses to run as root), which cannot enter "${dir}" to reach the data directory "${path}": choose a dataDir outside it, or let others enter it (chmod o+x "${dir}")`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}
