// A real PostgreSQL server for the database tests: the machine's own
// (Debian's postgresql package; installed with apt-get when absent and this
// runs as root), started as a throwaway cluster in a temporary directory,
// listening on a free loopback port, trusting local connections. initdb
// refuses to run as root, so as root the cluster belongs to the postgres
// user.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Where Debian puts each major version's binaries. */
const DEBIAN_BINARIES = "/usr/lib/postgresql";

function binaryDirectory() {
  const versions = existsSync(DEBIAN_BINARIES)
    ? readdirSync(DEBIAN_BINARIES).filter((v) => existsSync(join(DEBIAN_BINARIES, v, "bin", "initdb")))
    : [];
  if (versions.length) return join(DEBIAN_BINARIES, versions.sort((a, b) => Number(b) - Number(a))[0], "bin");
  return null;
}

function install() {
  if (process.getuid?.() !== 0) {
    throw new Error("PostgreSQL is not installed, and installing it needs root (apt-get install postgresql)");
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-q"], ["install", "-y", "-q", "--no-install-recommends", "postgresql"]]) {
    const result = spawnSync("apt-get", args, { env, stdio: ["ignore", "ignore", "inherit"] });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status})`);
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });

/**
 * Start a throwaway cluster; resolves with its superuser's URL and a stop
 * function that removes it.
 */
export async function startRealPostgres() {
  let bin = binaryDirectory();
  if (!bin) {
    install();
    bin = binaryDirectory();
    if (!bin) throw new Error(`apt-get installed postgresql, but no initdb was found under ${DEBIAN_BINARIES}`);
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "bgw-postgres-"));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    chownSync(dir, uid, gid);
  }
  const as = (tool, args) => {
    const [command, commandArgs] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]]
      : [join(bin, tool), args];
    const result = spawnSync(command, commandArgs, { encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(`${tool} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
    }
  };
  const data = join(dir, "data");
  as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  as("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    version: execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim(),
    stop() {
      try {
        as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
