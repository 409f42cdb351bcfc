import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { loaderFlags, nodeWorkerCommand, typeScriptPath } from "../runtimes/node/command.ts";
import {
  compileCacheActive,
  compileCacheDirectory,
  compileCacheEnv,
  hasCompileCache,
} from "../runtimes/node/compile_cache.ts";
import { WARM_TYPESCRIPT_ENV } from "../runtimes/shared/worker_command.ts";
import { denoPermissionFlags } from "../runtimes/deno/command.ts";
import { denoResolutionFlags } from "../runtimes/deno/config_flags.ts";

test("Node workers get the postmaster's module loaders and nothing of a test runner's flags", () => {
  assert.deepEqual(
    loaderFlags([
      "--import",
      "file:///tsx/loader.mjs",
      "--test-reporter=tap",
      "--inspect-port=0",
      "--conditions=worker",
      "--require",
      "./setup.cjs",
      "--enable-source-maps",
    ]),
    ["--import", "file:///tsx/loader.mjs", "--conditions=worker", "--require", "./setup.cjs", "--enable-source-maps"],
  );
  assert.deepEqual(loaderFlags(["--import"]), [], "a flag without its value is dropped");
});

test("Deno workers get every permission the postmaster holds in full, and -A when it holds them all", () => {
  assert.deepEqual(denoPermissionFlags((name) => name === "read" || name === "run"), ["--allow-read", "--allow-run"]);
  assert.deepEqual(denoPermissionFlags(() => true), ["-A"]);
  assert.deepEqual(denoPermissionFlags(() => false), []);
});

test("Deno workers get the postmaster's module-resolution flags: those before its script, with their values", () => {
  assert.deepEqual(
    denoResolutionFlags([
      "deno",
      "run",
      "-A",
      "--config",
      "alt.json",
      "--no-lock",
      "--unstable-kv",
      "--allow-net",
      "app.ts",
      "--config",
      "script-arg",
    ]),
    ["--config", "alt.json", "--no-lock", "--unstable-kv"],
  );
  assert.deepEqual(denoResolutionFlags(["deno", "--import-map=map.json", "-c", "deno.jsonc", "app.ts"]), [
    "--import-map=map.json",
    "-c",
    "deno.jsonc",
  ]);
  assert.deepEqual(denoResolutionFlags(["deno", "test", "-A", "--no-prompt", "tests/a.test.ts"]), []);
});

test("Node's TypeScript path: tsx where Node cannot strip types and TypeScript is to run; a spare expecting it warms the stripper", () => {
  const facts = {
    bootstrap: "/app/dist/worker_main.js",
    expected: false,
    spare: true,
    stripsTypes: false,
    hasTsx: false,
    compileCache: false,
  };
  // Node 20: a spare gets tsx only when a TypeScript worker is expected, or to boot a TypeScript bootstrap.
  assert.equal(typeScriptPath(facts), "none", "a lean spare: tsx costs each spare 100-200 ms of CPU");
  assert.equal(typeScriptPath({ ...facts, expected: true }), "tsx");
  assert.equal(typeScriptPath({ ...facts, bootstrap: "/repo/runtimes/shared/worker_main.ts" }), "tsx");
  assert.equal(typeScriptPath({ ...facts, expected: true, hasTsx: true }), "none", "inherited from the postmaster");
  assert.equal(
    typeScriptPath({ ...facts, spare: false, expected: true }),
    "tsx",
    "a cold start of a TypeScript library",
  );
  // Node 24: nothing to load at boot; a spare expecting TypeScript loads the stripper while it waits.
  const node24 = { ...facts, stripsTypes: true };
  assert.equal(typeScriptPath(node24), "none");
  assert.equal(typeScriptPath({ ...node24, expected: true }), "warm stripper");
  assert.equal(typeScriptPath({ ...node24, expected: true, spare: false }), "none", "its import follows at once");
  assert.equal(
    typeScriptPath({ ...node24, expected: true, bootstrap: "/repo/runtimes/shared/worker_main.ts" }),
    "none",
    "a TypeScript bootstrap loaded the stripper to run at all",
  );
  assert.equal(
    typeScriptPath({ ...node24, expected: true, compileCache: true }),
    "none",
    "modules imported before come stripped from the compile cache: the stripper would cost 17 MB for nothing",
  );
});

test("Node workers' command: the compile cache where Node has one; the TypeScript hint of a spare", () => {
  const spare = nodeWorkerCommand(null, { typeScript: true });
  const cold = nodeWorkerCommand(null);
  assert.ok(spare.args.at(-1)!.endsWith("worker_main.ts"), "from the sources, the bootstrap is TypeScript");
  // From the sources the bootstrap has TypeScript loaded already: no warm-up asked for, with or without the hint.
  assert.equal(spare.env?.[WARM_TYPESCRIPT_ENV], undefined);
  const decided = process.env.NODE_COMPILE_CACHE !== undefined || process.env.NODE_DISABLE_COMPILE_CACHE !== undefined;
  // (Deno and Bun report a Node version too: there the Node command would pass the cache on as well.)
  const expected = hasCompileCache() && !decided;
  assert.equal(cold.env?.NODE_COMPILE_CACHE !== undefined, expected, JSON.stringify(cold.env));
});

test("compile cache: Node 22.1 and later; the postmaster's own setting wins", () => {
  assert.equal(compileCacheActive({ NODE_COMPILE_CACHE: "/tmp/c" }, {}, "24.0.0"), true);
  assert.equal(compileCacheActive({}, { NODE_COMPILE_CACHE: "/mine" }, "24.0.0"), true, "inherited");
  assert.equal(
    compileCacheActive({}, { NODE_COMPILE_CACHE: "/mine", NODE_DISABLE_COMPILE_CACHE: "1" }, "24.0.0"),
    false,
  );
  assert.equal(compileCacheActive({}, { NODE_COMPILE_CACHE: "/mine" }, "20.19.0"), false);
  assert.equal(compileCacheActive({}, {}, "24.0.0"), false);
  assert.equal(hasCompileCache("22.0.0"), false);
  assert.equal(hasCompileCache("22.1.0"), true);
  assert.equal(hasCompileCache("24.3.1"), true);
  assert.equal(hasCompileCache("20.19.2"), false);
  const dir = () => "/tmp/cache";
  assert.deepEqual(compileCacheEnv({}, "24.0.0", dir), { NODE_COMPILE_CACHE: "/tmp/cache" });
  assert.deepEqual(compileCacheEnv({}, "20.19.0", dir), {});
  assert.deepEqual(compileCacheEnv({ NODE_COMPILE_CACHE: "/mine" }, "24.0.0", dir), {}, "inherited as it is");
  assert.deepEqual(compileCacheEnv({ NODE_DISABLE_COMPILE_CACHE: "1" }, "24.0.0", dir), {});
  assert.deepEqual(compileCacheEnv({}, "24.0.0", () => null), {}, "no safe directory, no cache");
});

test("compile cache directory: the user's own, mode 0700, in a parent no one else can change; else none", () => {
  const uid = process.getuid?.();
  if (uid === undefined) return; // no uids here (Windows): never a cache
  const base = mkdtempSync(join(tmpdir(), "bgworker-cache-test-"));
  try {
    const dir = compileCacheDirectory({ base, uid });
    assert.equal(dir, join(base, `bgworker-node-compile-cache-${uid}`));
    assert.equal(lstatSync(dir!).mode & 0o777, 0o700);
    assert.equal(compileCacheDirectory({ base, uid }), dir, "found again as it is");
    assert.equal(compileCacheDirectory({ base, uid: uid + 1 }), null, "someone else's name: not theirs to trust");
    chmodSync(dir!, 0o755);
    assert.equal(compileCacheDirectory({ base, uid }), null, "readable by others");
    rmSync(dir!, { recursive: true });
    symlinkSync(base, dir!);
    assert.equal(compileCacheDirectory({ base, uid }), null, "a symbolic link, wherever it points");
    rmSync(dir!);
    chmodSync(base, 0o777);
    assert.equal(compileCacheDirectory({ base, uid }), null, "others could rename it away");
    chmodSync(base, 0o1777);
    assert.equal(compileCacheDirectory({ base, uid }), dir, "sticky, as /tmp: they cannot");
    assert.equal(compileCacheDirectory({ base: join(base, "missing"), uid }), null);
    assert.equal(compileCacheDirectory({ base, uid: undefined }), null);
  } finally {
    chmodSync(base, 0o700);
    rmSync(base, { recursive: true, force: true });
  }
});
