import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { detectRuntime, importRuntimeModule } from "../runtimes/detect.ts";

test("detectRuntime: Deno and Bun are recognised by their own globals, before the process.versions.node they also define", () => {
  const process = { versions: { node: "24.0.0" } };
  assert.equal(detectRuntime({ process, Deno: {} }), "deno");
  assert.equal(detectRuntime({ process, Bun: {} }), "bun");
  assert.equal(detectRuntime({ process }), "node");
  assert.equal(detectRuntime({}), "node");
});

test("detectRuntime: without an argument, it names the runtime running this test", () => {
  const versions = process.versions as Record<string, string | undefined>;
  const expected = versions.deno ? "deno" : versions.bun ? "bun" : "node";
  assert.equal(detectRuntime(), expected);
});

test("importRuntimeModule: every leaf loads on this runtime and gives the same supervisor API", async () => {
  const own = await importRuntimeModule();
  for (const runtime of ["node", "deno", "bun"] as const) {
    const leaf = await importRuntimeModule(runtime);
    assert.equal(typeof leaf.Postmaster, "function", `${runtime}: Postmaster`);
    assert.deepEqual(
      Object.keys(leaf).sort(),
      Object.keys(own).sort(),
      `${runtime}: the same exports as this runtime's leaf`,
    );
  }
  assert.equal(own, await importRuntimeModule(detectRuntime()), "the default is this runtime's leaf");
});
