/**
 * One PostgreSQL 18 server, run by the postmaster's process from the
 * binaries on the npm registry: initdb when its data directory is new, then
 * `postgres` itself, listening on a Unix socket in a private directory,
 * trusting the connections that can reach it (the server's account and
 * root), and on a loopback port, where a password set at each start and
 * kept in memory only is asked for. If the postmaster dies, the watchdog of the worker
 * processes sends the server SIGQUIT (PostgreSQL's immediate shutdown, which
 * ends every one of its processes, busy ones too), then SIGKILL, so it never
 * outlives the postmaster.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { forgetGroup, watchGroup } from "../group_reaper.ts";
import { createLineReader } from "../line_reader.ts";
import { postgresBinaries } from "./postgres_binaries.ts";
import { connectDatabase } from "../database_client.ts";
import { serverAccount, type ServerDirectories, serverDirectories } from "./server_directories.ts";

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
  /** The superuser's URL through the Unix socket: `postgres://postgres@/postgres?host=<socket directory>&port=<port>`. */
  readonly url: string;
  /** The superuser's URL over loopback TCP, with the password set at this start: for any client library. */
  readonly tcpUrl: string;
  /** The server's pid. */
  readonly pid: number;
  /** The account it runs as. */
  readonly account: string;
  /** Fast shutdown (SIGINT); SIGKILL to its group if it has not gone in 10 s. Removes the temporary directory. */
  stop(): Promise<void>;
}

/** The superuser initdb makes. */
const SUPERUSER = "postgres";
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
    // Our own client authentication, whatever the data directory's says: the socket's private directory is
    // the gate for local connections; over loopback TCP, the password (new at every start) is.
    const hbaFile = join(dirs.socket, "pg_hba.conf");
    writeFileSync(hbaFile, "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n", { mode: 0o600 });
    if (account) chownSync(hbaFile, account.uid, account.gid);
    const started = await startOnFreePort(bin, env, dirs, hbaFile, options.dataDir === undefined, asAccount);
    const { pid, port, exited } = started;
    const socketUrl = `postgres://${SUPERUSER}@/postgres?host=${encodeURIComponent(dirs.socket)}&port=${port}`;
    const password = randomBytes(24).toString("base64url");
    const admin = await connectDatabase(socketUrl, {});
    try {
      // Through the socket, never on a command line or in a file: it appears in no title and no log.
      await admin.query(`alter role ${SUPERUSER} password '${password}'`);
    } finally {
      await admin.close();
    }
    return {
      url: socketUrl,
      tcpUrl: `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`,
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

/**
 * Start `postgres` on a loopback port that was free a moment ago; another
 * process may take it in between, so a server that cannot bind it is
 * started again on another one.
 */
async function startOnFreePort(
  bin: string,
  env: Record<string, string>,
  dirs: ServerDirectories,
  hbaFile: string,
  temporary: boolean,
  asAccount: { uid?: number; gid?: number },
): Promise<{ pid: number; port: number; exited: Promise<void> }> {
  for (let attempt = 1;; attempt++) {
    const port = await freeLoopbackPort();
    const server = spawn(join(bin, "postgres"), [
      "-D",
      dirs.data,
      "-k",
      dirs.socket,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `hba_file=${hbaFile}`,
      "-c",
      "unix_socket_permissions=0700",
      "-c",
      "lc_messages=C",
      ...(temporary ? ["-c", "fsync=off", "-c", "full_page_writes=off"] : []),
    ], { env, cwd: "/", stdio: ["ignore", "ignore", "pipe"], detached: true, ...asAccount });
    const pid = server.pid;
    if (pid === undefined) throw new Error("could not start postgres");
    // PostgreSQL's children lead groups of their own: its immediate shutdown (SIGQUIT) is what reaches them all.
    watchGroup(pid, true);
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    try {
      await untilReady(server.stderr!, exited);
      return { pid, port, exited };
    } catch (error) {
      forgetGroup(pid);
      if (attempt < 3 && /could not (bind|create any TCP\/IP sockets)/.test(String(error))) continue;
      throw error;
    }
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
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
