import assert from "node:assert/strict";
import { test } from "node:test";
import { loaderFlags } from "../runtimes/node/command.ts";
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
