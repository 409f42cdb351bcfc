/**
 * Real processes: the TypeScript path of spares and the compile cache. The
 * spares here boot from a build of the worker entry (bundled as
 * scripts/bundle_worker.mjs bundles it into dist/), the way an installed
 * package runs: from the sources the bootstrap is TypeScript itself and
 * has TypeScript loaded before any worker comes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { detectRuntime } from "../../runtimes/detect.ts";
import { compileCacheDirectory, hasCompileCache } from "../../runtimes/node/compile_cache.ts";
import { WARM_TYPESCRIPT_ENV, type WorkerCommand } from "../../runtimes/shared/worker_command.ts";
import { createProcessAdapter } from "../../runtimes/shared/process_adapter.ts";
import type { TypedWorkerReport } from "../fixtures/typed_worker.ts";
import { fixture, realPostmaster } from "../helpers/real_postmaster.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TYPED = new URL("../fixtures/typed_worker.ts", import.meta.url).href;
const READY = /^DEBUG1: {2}spare worker process \(PID (\d+)\) is ready$/;
const onNode = detectRuntime() === "node";

/**
 * Run `body` with a build of the worker side in a directory of its own,
 * removed afterwards. In the repository (.scratch/ is ignored by git),
 * where the bootstrap finds tsx as an application's would.
 */
async function withBuild(body: (built: string) => Promise<void>): Promise<void> {
  mkdirSync(join(ROOT, ".scratch"), { recursive: true });
  const built = mkdtempSync(join(ROOT, ".scratch", "built-"));
  try {
    writeFileSync(join(built, "package.json"), JSON.stringify({ type: "module" }));
    await build({
      absWorkingDir: ROOT,
      entryPoints: ["worker.ts", "runtimes/shared/worker_main.ts", "runtimes/shared/typescript_warmup.ts"],
      outdir: built,
      outbase: ROOT,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "es2022",
      external: ["koffi", "postgres", "./node/mod.ts", "./deno/mod.ts", "./bun/mod.ts"],
      logLevel: "warning",
    });
    await body(built);
  } finally {
    rmSync(built, { recursive: true, force: true });
  }
}

/** The built worker entry on this runtime, with nothing else: no tsx, no loader flag. */
function builtCommand(built: string, env: Record<string, string> = {}): () => WorkerCommand {
  const entry = join(built, "runtimes", "shared", "worker_main.js");
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  return () =>
    deno
      ? { execPath: deno.execPath(), args: ["run", "-A", "--no-prompt", entry], env }
      : { execPath: process.execPath, args: [entry], env };
}

/** Run the typed worker in a spare spawned by `command`; its report and the spare's pid. */
async function typedWorkerInSpare(
  command: () => WorkerCommand,
): Promise<{ seen: TypedWorkerReport; sparePid: number }> {
  const { pm, logs, until } = realPostmaster({
    adapter: createProcessAdapter(command),
    spareWorkerProcesses: 1,
    workerOutput: "logger",
  });
  await pm.start();
  try {
    await until("a spare to be ready", () => logs.some((l) => READY.test(l)));
    const sparePid = Number(logs.map((l) => READY.exec(l)?.[1]).find(Boolean));
    assert.ok(pm.registerDynamicBackgroundWorker(fixture("typed", "main", { bgw_library_name: TYPED })));
    await until("the typed worker's report", () => logs.some((l) => l.includes("typed worker: ")));
    const line = logs.find((l) => l.includes("typed worker: "))!;
    return { seen: JSON.parse(line.slice(line.indexOf("typed worker: ") + 14)), sparePid };
  } finally {
    await pm.stop("immediate");
  }
}

test("real processes: a spare of the built entry, nothing of TypeScript loaded ahead, runs a TypeScript worker given to it", async () => {
  // On Node 20 the spare loads tsx as the worker's import comes; Node 24 strips types; Deno and Bun compile them.
  await withBuild(async (built) => {
    const { seen, sparePid } = await typedWorkerInSpare(builtCommand(built));
    assert.equal(seen.pid, sparePid, "it ran in the spare, not in a cold start");
  });
});

test(
  "real processes: a Node spare asked to warm the type stripper runs its worker without the request in its environment",
  {
    skip: !onNode && "Node's only",
  },
  async () => {
    await withBuild(async (built) => {
      const { seen, sparePid } = await typedWorkerInSpare(builtCommand(built, { [WARM_TYPESCRIPT_ENV]: "1" }));
      assert.equal(seen.pid, sparePid);
      assert.equal(seen.warmVariable, null);
    });
  },
);

test("real processes: the built warm-up loads Node's type stripper where Node has one, and writes no warning", {
  skip: !onNode && "Node's only",
}, async () => {
  await withBuild(async (built) => {
    const warmUp = pathToFileURL(join(built, "runtimes", "shared", "typescript_warmup.js")).href;
    const script = `await import(${JSON.stringify(warmUp)});` +
      `console.log(process.moduleLoadList.some((m) => m.includes("amaro")));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "", "no ExperimentalWarning on the postmaster's stderr");
    const hasStripper = typeof (await import("node:module") as { stripTypeScriptTypes?: unknown })
      .stripTypeScriptTypes === "function";
    assert.equal(stdout.trim(), String(hasStripper));
  });
});

test("real processes: Node workers get the compile cache in the user's own directory (Node 22.1 and later)", async () => {
  const decided = process.env.NODE_COMPILE_CACHE !== undefined || process.env.NODE_DISABLE_COMPILE_CACHE !== undefined;
  const { pm, logs, until } = realPostmaster({ workerOutput: "logger" });
  await pm.start();
  try {
    assert.ok(pm.registerDynamicBackgroundWorker(fixture("cached", "main", { bgw_library_name: TYPED })));
    await until("the worker's report", () => logs.some((l) => l.includes("typed worker: ")));
  } finally {
    await pm.stop("immediate");
  }
  const line = logs.find((l) => l.includes("typed worker: "))!;
  const seen: TypedWorkerReport = JSON.parse(line.slice(line.indexOf("typed worker: ") + 14));
  if (decided) return; // the postmaster's environment decides for its workers
  const expected = onNode && hasCompileCache() ? compileCacheDirectory() : null;
  assert.equal(seen.compileCacheVariable, expected);
  // Node 22.8 and later say where their cache is; it is the same.
  if (expected && seen.compileCache !== null) assert.ok(seen.compileCache.startsWith(expected), seen.compileCache);
});
