// A real PostgreSQL server for the database tests and the benchmark:
// PostgreSQL 18's own binaries from the npm registry (postgres_binaries.mjs),
// started as a throwaway cluster in a temporary directory, listening on a
// free loopback port, trusting local connections. PostgreSQL refuses to run
// as root, so as root the cluster belongs to the unprivileged user `nobody`
// (the child processes are started with its uid; nothing is installed).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { postgresBinaries } from "./postgres_binaries.mjs";

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });

/** The unprivileged account root runs the server as. */
function unprivilegedUser() {
  const id = (flag) => {
    try {
      return Number(execFileSync("id", [flag, "nobody"], { encoding: "utf8" }));
    } catch {
      return 65534;
    }
  };
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * Start a throwaway cluster; resolves with its superuser's URL and a stop
 * function that removes it.
 */
export async function startRealPostgres() {
  const { bin, env } = postgresBinaries();
  const user = process.getuid?.() === 0 ? unprivilegedUser() : null;
  const dir = mkdtempSync(join(tmpdir(), "bgw-postgres-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const run = (tool, args) => {
    const result = spawnSync(join(bin, tool), args, { encoding: "utf8", env, cwd: dir, ...user });
    if (result.status !== 0) {
      throw new Error(`${tool} failed (exit ${result.status}): ${result.stderr || result.stdout || result.error}`);
    }
    return result.stdout;
  };
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--no-instructions"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    version: run("postgres", ["--version"]).trim(),
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
