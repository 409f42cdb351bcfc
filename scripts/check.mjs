#!/usr/bin/env node
// npm run check: the packaging checks. Type-checks the core with no runtime
// types at all, compares the two export maps, builds dist/, runs publint and
// `deno publish --dry-run`, then packs the package, installs the tarball into
// a temporary project and imports it (and runs a worker) on Node, Deno and Bun.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { exportMapProblems } from "./check_exports.mjs";
import { bin, root, run } from "./runtimes.mjs";

const steps = [];
async function step(name, fn) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const started = Date.now();
  try {
    await fn();
    steps.push({ check: name, ok: true, seconds: ((Date.now() - started) / 1000).toFixed(1) });
  } catch (error) {
    console.error(String(error?.message ?? error));
    steps.push({ check: name, ok: false, seconds: ((Date.now() - started) / 1000).toFixed(1) });
  }
}
async function must(command, args, options) {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(`${[command, ...args].join(" ")} exited with ${r.code}`);
  return r.output;
}

await step("core type-check without runtime types (lib ES2022, types [])", () => must(bin("tsc"), ["-p", "tsconfig.core.json"]));
await step("type-check everything", () => must(bin("tsc"), ["-p", "tsconfig.json"]));
await step("export maps agree", () => {
  const problems = exportMapProblems(root);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log("package.json and deno.json export the same subpaths");
});
await step("build dist/ with declarations, the worker side bundled", async () => {
  rmSync(join(root, "dist"), { recursive: true, force: true });
  await must(bin("tsc"), ["-p", "tsconfig.build.json"]);
  await must(process.execPath, [join(root, "scripts", "bundle_worker.mjs")]);
});
await step("publint", () => must(bin("publint"), ["--strict"]));
await step("deno publish --dry-run", () => must(bin("deno"), ["publish", "--dry-run", "--allow-dirty"]));
await step("npm pack, install the tarball, import and run a worker on Node, Deno and Bun", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bgworker-pack-"));
  try {
    const packed = await must("npm", ["pack", "--pack-destination", dir, "--json"], { quiet: true });
    const tarball = JSON.parse(packed.slice(packed.indexOf("["))).at(0).filename;
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "pack-smoke", private: true, type: "module" }));
    await must("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball)], { cwd: dir, quiet: true });
    writeFileSync(join(dir, "hello_worker.mjs"), [
      `import { myBgworkerEntry, myProcPid } from "bgworker/worker";`,
      `export function main(arg) { if (myBgworkerEntry.bgw_name !== "smoke" || arg !== 7 || !myProcPid) process.exit(3); }`,
    ].join("\n"));
    writeFileSync(join(dir, "smoke.mjs"), [
      `import process from "node:process";`,
      `import * as bgworker from "bgworker";`,
      `import * as worker from "bgworker/worker";`,
      `const own = await import("bgworker/" + process.env.RUNTIME);`,
      `if (typeof bgworker.Postmaster !== "function" || bgworker.BGW_MAXLEN !== 96 || typeof worker.waitLatch !== "function" || typeof own.Postmaster !== "function") throw new Error("exports missing");`,
      `const pm = new bgworker.Postmaster();`,
      `const h = pm.registerDynamicBackgroundWorker({ bgw_name: "smoke", bgw_flags: 0, bgw_start_time: 0, bgw_restart_time: -1, bgw_library_name: "./hello_worker.mjs", bgw_function_name: "main", bgw_main_arg: 7, bgw_notify_pid: pm.pid });`,
      `const exits = [];`,
      `pm.on("notify", (n) => exits.push(n.status));`,
      `await pm.start();`,
      `await pm.waitForBackgroundWorkerShutdown(h);`,
      `await pm.stop();`,
      `if (!exits.includes(0)) throw new Error("the worker never reported in: " + exits);`,
      `console.log("imported and ran a worker from the tarball");`,
    ].join("\n"));
    const logExit = (label) => (output) => { if (/exited with exit code [1-9]/.test(output)) throw new Error(`${label}: the worker failed`); };
    for (const [label, command, args] of [
      ["node", process.execPath, ["smoke.mjs"]],
      ["deno", bin("deno"), ["run", "-A", "--no-prompt", "smoke.mjs"]],
      ["bun", bin("bun"), ["smoke.mjs"]],
    ]) {
      console.log(`-- ${label}`);
      logExit(label)(await must(command, args, { cwd: dir, env: { RUNTIME: label } }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

console.log("\n=== checks ===");
console.table(steps);
process.exit(steps.every((s) => s.ok) ? 0 : 1);
