/**
 * Where a `bgw_library_name` (or a `sharedPreloadLibraries` entry) is found.
 *
 * The rule, in order:
 * 1. a `file:` URL is used as it is;
 * 2. an absolute path is used as it is;
 * 3. a path starting with `./` or `../` is relative to the postmaster's
 *    working directory;
 * 4. any other name is bare: each directory of `dynamicLibraryPath` is tried
 *    in order, first with the name as given, then with `.ts`, `.mts`, `.js`
 *    and `.mjs` appended (PostgreSQL appends `DLSUFFIX` the same way).
 *
 * @module
 */

/** What resolution needs from the runtime. */
export interface LibraryLookup {
  /** The postmaster's working directory, absolute. */
  cwd: string;
  /** Directories searched for bare names. */
  dynamicLibraryPath: readonly string[];
  /** Whether a regular file exists at an absolute path. */
  fileExists(path: string): boolean;
}

const SUFFIXES = ["", ".ts", ".mts", ".js", ".mjs"];

/**
 * Resolve a library name to a `file:` URL, or `null` when a bare name is in
 * no directory of `dynamicLibraryPath`. Paths and URLs are not checked for
 * existence here: the worker that imports them reports what is missing.
 *
 * @example
 * ```ts
 * import { resolveLibrary } from "./library_path.ts";
 * resolveLibrary("./w.ts", { cwd: "/srv/app", dynamicLibraryPath: [], fileExists: () => true });
 * // "file:///srv/app/w.ts"
 * ```
 */
export function resolveLibrary(name: string, lookup: LibraryLookup): string | null {
  if (name.startsWith("file:")) return name;
  if (name.startsWith("/")) return pathToFileUrl(name);
  if (name.startsWith("./") || name.startsWith("../")) return pathToFileUrl(joinPath(lookup.cwd, name));
  for (const dir of lookup.dynamicLibraryPath) {
    const base = joinPath(dir.startsWith("/") ? dir : joinPath(lookup.cwd, dir), name);
    for (const suffix of SUFFIXES) {
      if (lookup.fileExists(base + suffix)) return pathToFileUrl(base + suffix);
    }
  }
  return null;
}

/**
 * Join POSIX path pieces and fold `.` and `..`, without touching the disk.
 *
 * @example
 * ```ts
 * import { joinPath } from "./library_path.ts";
 * joinPath("/srv/app", "../lib/w.ts"); // "/srv/lib/w.ts"
 * ```
 */
export function joinPath(base: string, relative: string): string {
  const parts: string[] = [];
  for (const part of `${base}/${relative}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/**
 * An absolute POSIX path as a `file:` URL, each segment percent-encoded.
 *
 * @example
 * ```ts
 * import { pathToFileUrl } from "./library_path.ts";
 * pathToFileUrl("/a b/w.ts"); // "file:///a%20b/w.ts"
 * ```
 */
export function pathToFileUrl(path: string): string {
  return "file://" + path.split("/").map(encodeURIComponent).join("/");
}
