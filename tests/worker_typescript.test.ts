import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerPort } from "../src/worker/port.ts";
import { detectRuntime } from "../runtimes/detect.ts";
import { WARM_TYPESCRIPT_ENV } from "../runtimes/shared/worker_command.ts";
import { typeScriptPreload, withTypeScriptLoader } from "../runtimes/shared/worker_typescript.ts";
import { warmTypeScriptStripper } from "../runtimes/shared/typescript_warmup.ts";

/** A port that records its imports, in order, with what was loaded before each. */
function recordingPort(events: string[]): WorkerPort {
  return {
    pid: 4242,
    importModule: (url: string) => {
      events.push(`import ${url}`);
      return Promise.resolve({ url });
    },
  } as unknown as WorkerPort;
}

test("worker TypeScript path: on a Node without type stripping or tsx, tsx loads once, before the first TypeScript import only", async () => {
  const events: string[] = [];
  const port = recordingPort(events);
  const node20 = {
    features: {},
    execArgv: ["--max-old-space-size=64"],
    loadTsx: () => {
      events.push("load tsx");
      return Promise.resolve();
    },
  };
  const wrapped = withTypeScriptLoader(port, node20);
  assert.equal(wrapped.pid, 4242, "the rest is the port's own");
  await wrapped.importModule("file:///app/plain.mjs");
  assert.deepEqual(events, ["import file:///app/plain.mjs"], "JavaScript needs no loader");
  await Promise.all([wrapped.importModule("file:///app/jobs.ts"), wrapped.importModule("file:///app/more.mts?v=1")]);
  assert.deepEqual(events, [
    "import file:///app/plain.mjs",
    "load tsx",
    "import file:///app/jobs.ts",
    "import file:///app/more.mts?v=1",
  ]);
});

test("worker TypeScript path: the port as it is where Node strips types, tsx is loaded, or the runtime is not Node", () => {
  const port = recordingPort([]);
  const loadTsx = () => Promise.reject(new Error("not to be called"));
  assert.equal(withTypeScriptLoader(port, { features: { typescript: "strip" }, execArgv: [], loadTsx }), port);
  assert.equal(
    withTypeScriptLoader(port, { features: {}, execArgv: ["--import", "file:///n/tsx/dist/loader.mjs"], loadTsx }),
    port,
  );
  assert.equal(withTypeScriptLoader(port, null), port);
});

test("worker TypeScript path: without tsx installed, the import goes ahead and fails as it would have", async () => {
  const events: string[] = [];
  const wrapped = withTypeScriptLoader(recordingPort(events), {
    features: {},
    execArgv: [],
    loadTsx: () => Promise.reject(new Error("Cannot find package 'tsx'")),
  });
  assert.deepEqual(await wrapped.importModule("file:///app/jobs.ts"), { url: "file:///app/jobs.ts" });
});

test("worker TypeScript path: a spare asked to warm the stripper preloads the warm-up next to its entry, and the variable leaves the environment", () => {
  const env: Record<string, string | undefined> = { [WARM_TYPESCRIPT_ENV]: "1", HOME: "/home/app" };
  const preload = typeScriptPreload("file:///pkg/dist/runtimes/shared/worker_main.js", env);
  if (detectRuntime() !== "node") {
    // Only Node's command sets it; elsewhere it is not even read (Deno asks a permission for that).
    assert.deepEqual(preload, []);
    return;
  }
  assert.deepEqual(preload, ["file:///pkg/dist/runtimes/shared/typescript_warmup.js"]);
  assert.deepEqual(env, { HOME: "/home/app" });
  assert.deepEqual(
    typeScriptPreload("file:///repo/runtimes/shared/worker_main.ts", { [WARM_TYPESCRIPT_ENV]: "1" }),
    ["file:///repo/runtimes/shared/typescript_warmup.ts"],
  );
  const other: Record<string, string | undefined> = { [WARM_TYPESCRIPT_ENV]: "0" };
  assert.deepEqual(typeScriptPreload("file:///pkg/worker_main.js", other), []);
  assert.deepEqual(other, {}, "removed whatever its value");
  assert.deepEqual(typeScriptPreload("file:///pkg/worker_main.js", {}), []);
});

test("stripper warm-up: runs the stripper once with warnings muted, then gives emitWarning back; nothing without one", () => {
  const warnings: unknown[] = [];
  const emitWarning = (...args: never[]) => void warnings.push(args);
  const calls: string[] = [];
  const host = {
    stripTypeScriptTypes: (code: string) => {
      calls.push(code);
      host.process.emitWarning(...(["stripTypeScriptTypes is an experimental feature"] as never[]));
      return code;
    },
    process: { emitWarning },
  };
  assert.equal(warmTypeScriptStripper(host), true);
  assert.deepEqual(calls, [""]);
  assert.deepEqual(warnings, [], "the experimental warning went nowhere");
  assert.equal(host.process.emitWarning, emitWarning);
  const failing = {
    stripTypeScriptTypes: () => {
      throw new Error("no wasm");
    },
    process: { emitWarning },
  };
  assert.equal(warmTypeScriptStripper(failing), false);
  assert.equal(failing.process.emitWarning, emitWarning);
  assert.equal(warmTypeScriptStripper({ process: { emitWarning } }), false, "Node before 22.13, Deno, Bun");
});
