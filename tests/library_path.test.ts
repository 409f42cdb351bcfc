import assert from "node:assert/strict";
import { test } from "node:test";
import { joinPath, pathToFileUrl, resolveLibrary } from "../src/library_path.ts";

const lookup = (files: string[], dynamicLibraryPath: string[] = []) => ({
  cwd: "/srv/app",
  dynamicLibraryPath,
  fileExists: (p: string) => files.includes(p),
});

test("library names: file: URLs and absolute paths as they are, ./ and ../ from the postmaster's cwd", () => {
  assert.equal(resolveLibrary("file:///x/w.ts", lookup([])), "file:///x/w.ts");
  assert.equal(resolveLibrary("/x/w.ts", lookup([])), "file:///x/w.ts");
  assert.equal(resolveLibrary("./w/a.ts", lookup([])), "file:///srv/app/w/a.ts");
  assert.equal(resolveLibrary("../lib/b.js", lookup([])), "file:///srv/lib/b.js");
});

test("bare names: each dynamicLibraryPath directory in order, as given, then with .ts .mts .js .mjs", () => {
  const files = ["/one/counter.js", "/two/counter.ts", "/srv/app/rel/spi.mts", "/two/exact"];
  const path = ["/one", "/two", "rel"];
  assert.equal(resolveLibrary("counter", lookup(files, path)), "file:///one/counter.js");
  assert.equal(resolveLibrary("spi", lookup(files, path)), "file:///srv/app/rel/spi.mts");
  assert.equal(resolveLibrary("exact", lookup(files, path)), "file:///two/exact");
  assert.equal(resolveLibrary("missing", lookup(files, path)), null);
  assert.equal(resolveLibrary("counter", lookup(files, [])), null);
});

test("paths are joined and percent-encoded without touching the disk", () => {
  assert.equal(joinPath("/a/b", "./c/../d"), "/a/b/d");
  assert.equal(joinPath("/", "../x"), "/x");
  assert.equal(pathToFileUrl("/with space/ü#.ts"), "file:///with%20space/%C3%BC%23.ts");
});
