/**
 * One PostgreSQL 18 server, run by the postmaster's process from the
 * binaries on the npm registry: initdb when its data directory is new, then
 * `postgres` itself, listening only on a Unix socket in a private
 * directory, trusting the connections that can reach it (the server's
 * account and root). The server leads its own process group, which the
 * watchdog of the worker processes also ends if the postmaster dies, so it
 * never outlives the postmaster.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { forgetGroup, watchGroup } from "../group_reaper.ts";
import { createLineReader } from "../line_reader.ts";
import { postgresBinaries } from "./postgres_binaries.ts";
import { serverAccount, serverDirectories } from "./server_directories.ts";

/**
 * A running server.
 *
 * @example
 * ```ts
 * import type { PostgresServer } from "./postgres_server.ts";
 * const close = (server: PostgresServer) => server.stop();
 * ```
 */
export interface PostgresServer {
  /** The superuser's URL: `postgres://postgres@/postgres?host=<socket directory>&port=5432`. */
  readonly url: string;
  /** The server's pid. */
  readonly pid: number;
  /** The account it runs as. */
  readonly account: string;
  /** Fast shutdown (SIGINT); SIGKILL to its group if it has not gone in 10 s. Removes the temporary directory. */
  stop(): Promise<void>;
}

/** The superuser initdb makes. */
const SUPERUSER = "postgres";
/** The port number only names the socket file (`.s.PGSQL.5432`): the server listens on no TCP port. */
const SOCKET_PORT = 5432;
/** Lines of the server's own log kept to explain a failed start. */
const KEPT_LOG_LINES = 40;
/** How long a fast shutdown may take before the server's group gets SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Start a server on `dataDir` (kept; initdb when new) or on a temporary
 * directory (removed at stop). Resolves once it accepts connections.
 *
 * @example
 * ```ts
 * import { startPostgresServer } from "./postgres_server.ts";
 * const server = await startPostgresServer({ dataDir: "./pgdata" });
 * console.log(server.url);
 * await server.stop();
 * ```
 */
export async function startPostgresServer(options: { dataDir?: string }): Promise<PostgresServer> {
  const { bin, env } = postgresBinaries();
  const account = serverAccount();
  const dirs = serverDirectories(options.dataDir, account);
  const asAccount = account ? { uid: account.uid, gid: account.gid } : {};
  try {
    if (dirs.needsInitdb) {
      const initdb = spawnSync(join(bin, "initdb"), [
        "-D",
        dirs.data,
        "-U",
        SUPERUSER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-instructions",
        // A temporary cluster dies with its postmaster: syncing it to disk buys nothing.
        ...(options.dataDir === undefined ? ["--no-sync"] : []),
      ], { env, cwd: "/", encoding: "utf8", ...asAccount });
      if (initdb.status !== 0) {
        throw new Error(`initdb failed: ${(initdb.stderr || initdb.stdout || String(initdb.error)).trim()}`);
      }
    }
    const server = spawn(join(bin, "postgres"), [
      "-D",
      dirs.data,
      "-k",
      dirs.socket,
      "-p",
      String(SOCKET_PORT),
      "-c",
      "listen_addresses=",
      "-c",
      "unix_socket_permissions=0700",
      "-c",
      "lc_messages=C",
      ...(options.dataDir === undefined ? ["-c", "fsync=off", "-c", "full_page_writes=off"] : []),
    ], { env, cwd: "/", stdio: ["ignore", "ignore", "pipe"], detached: true, ...asAccount });
    const pid = server.pid;
    if (pid === undefined) throw new Error("could not start postgres");
    watchGroup(pid);
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    await untilReady(server.stderr!, exited);
    return {
      url: `postgres://${SUPERUSER}@/postgres?host=${encodeURIComponent(dirs.socket)}&port=${SOCKET_PORT}`,
      pid,
      account: account?.name ?? "the postmaster's own",
      async stop() {
        signalGroup(pid, "SIGINT");
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([exited, new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS))]);
        clearTimeout(timer);
        signalGroup(pid, "SIGKILL"); // anything the fast shutdown left
        forgetGroup(pid);
        rmSync(dirs.temporary, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dirs.temporary, { recursive: true, force: true });
    throw error;
  }
}

/** Resolve when the server says it accepts connections; reject with its last lines when it exits first. */
function untilReady(stderr: NodeJS.ReadableStream, exited: Promise<void>): Promise<void> {
  const lines: string[] = [];
  return new Promise<void>((resolve, reject) => {
    let ready = false;
    const push = createLineReader(64 * 1024, {
      overflow: () => {},
      line: (line) => {
        if (ready) return; // after start-up the server's log is not kept: the postmaster logs what matters
        lines.push(line);
        if (lines.length > KEPT_LOG_LINES) lines.shift();
        if (line.includes("database system is ready to accept connections")) {
          ready = true;
          lines.length = 0;
          resolve();
        }
      },
    }, "cut");
    stderr.on("data", (chunk: Uint8Array) => push(chunk));
    void exited.then(() => {
      if (!ready) reject(new Error(`the PostgreSQL server exited during start-up:\n${lines.join("\n")}`));
    });
  });
}

function signalGroup(pid: number, signal: "SIGINT" | "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
