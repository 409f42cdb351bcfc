#!/usr/bin/env node
// npm run check: the packaging checks. Checks that the lock file is what
// `npm install` writes, type-checks the core with no runtime types at all,
// runs deno fmt --check, deno lint, deno doc --lint on the entry points and
// deno check --doc-only (every @example type-checks), compares the two export
// maps, builds dist/, runs publint and `deno publish --dry-run`, then packs the
// package, installs the tarball into a temporary project and imports it (and
// runs a worker) on Node, Deno and Bun. Each step that counts problems prints
// them one a line and their number.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { exportMapProblems } from "./check_exports.mjs";
import { bin, root, run } from "./runtimes.mjs";

const steps = [];
/** Run one check. A check that counts problems returns their number (the step fails unless it is 0); any other fails by throwing. */
async function step(name, fn) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  try {
    const result = await fn();
    const problems = typeof result === "number" ? result : "";
    steps.push({ check: name, ok: problems === "" || problems === 0, problems, seconds: seconds() });
  } catch (error) {
    console.error(String(error?.message ?? error));
    steps.push({ check: name, ok: false, problems: "", seconds: seconds() });
  }
}
async function must(command, args, options) {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(`${[command, ...args].join(" ")} exited with ${r.code}`);
  return r.output;
}

const repoPath = (path) => relative(root, path.replace(/^file:\/\//, ""));

/**
 * Run a deno command that reports problems, print them one a line and
 * return their number. `parse` reads the problems and deno's own count from
 * the output; the two must agree, and a failing exit with no problem read is
 * an error of the command itself.
 */
async function denoProblems(args, parse) {
  // run() sets NO_COLOR, so the output has no escape codes.
  const r = await run(bin("deno"), args, { quiet: true, env: { RUST_BACKTRACE: "0" } });
  const output = r.output;
  const { problems, reported } = parse(output);
  if (r.code !== 0 && problems.length === 0) {
    throw new Error(`deno ${args.join(" ")} exited with ${r.code}:\n${output}`);
  }
  if (r.code === 0 && problems.length > 0) {
    throw new Error(`deno ${args.join(" ")} exited with 0 but reported:\n${problems.join("\n")}`);
  }
  if (reported !== null && reported !== problems.length) {
    throw new Error(
      `deno ${args.join(" ")} says ${reported} problems, ${problems.length} were read from its output:\n${output}`,
    );
  }
  for (const problem of problems) console.log(problem);
  console.log(`deno ${args.join(" ")}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
  return problems.length;
}
const reportedCount = (output, regex) => {
  const m = output.match(regex);
  return m ? Number(m[1]) : null;
};
/** deno lint and deno doc --lint: `error[rule]: message` then `--> file:line:column`. */
const lintProblems = (countRegex) => (output) => ({
  problems: [...output.matchAll(/^(?:error|warning)\[([\w-]+)\]: (.*)\n\s*--> (.+?):(\d+):\d+$/gm)]
    .map(([, rule, message, file, line]) => `${repoPath(file)}:${line} ${rule}: ${message}`),
  reported: reportedCount(output, countRegex),
});
/** deno check: blocks that start `TSnnnn [ERROR]: message` and end `at file:line:column` (for an @example, `file#first-last.ts:line:column`). */
const typeErrors = (output) => ({
  problems: output.split(/^(?=TS\d+ \[ERROR\]: )/m).filter((block) => /^TS\d+ \[ERROR\]/.test(block)).map((block) => {
    const [, code, message] = block.match(/^(TS\d+) \[ERROR\]: (.*)/);
    const at = block.match(/^\s+at (\S+?)(?:#(\d+)-(\d+)\.\w+)?:(\d+):\d+\s*$/m);
    if (!at) return `${code}: ${message}`;
    const [, file, first, , line] = at;
    return first
      ? `${repoPath(file)}:${Number(first) + Number(line) - 1} (@example) ${code}: ${message}`
      : `${repoPath(file)}:${line} ${code}: ${message}`;
  }),
  reported: /^Found \d+ errors?\./m.test(output) ? reportedCount(output, /^Found (\d+) errors?\./m) : null,
});

await step(
  "package-lock.json is what npm install writes (npm install --package-lock-only leaves it unchanged)",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "bgworker-lock-"));
    try {
      for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(root, file), join(dir, file));
      await must("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], {
        cwd: dir,
        quiet: true,
      });
      const committed = readFileSync(join(root, "package-lock.json"), "utf8").split("\n");
      const written = readFileSync(join(dir, "package-lock.json"), "utf8").split("\n");
      const changed = [];
      for (let i = 0; i < Math.max(committed.length, written.length); i++) {
        if (written[i] !== committed[i]) {
          changed.push(`${i + 1}: ${committed[i] ?? "(none)"} -> ${written[i] ?? "(none)"}`);
        }
      }
      if (changed.length > 0) {
        const head = changed.slice(0, 20).join("\n");
        throw new Error(
          `npm install rewrites package-lock.json (${changed.length} lines differ; commit what it writes):\n${head}`,
        );
      }
      console.log("npm install leaves package-lock.json as committed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
await step(
  "core type-check without runtime types (lib ES2022, types [])",
  () => must(bin("tsc"), ["-p", "tsconfig.core.json"]),
);
await step("type-check everything", () => must(bin("tsc"), ["-p", "tsconfig.json"]));
await step("deno fmt --check", () =>
  denoProblems(["fmt", "--check"], (output) => ({
    problems: [...output.matchAll(/^from (.+):$/gm)].map(([, file]) => `${repoPath(file)}: not formatted`),
    reported: reportedCount(output, /^error: Found (\d+) not formatted files?/m),
  })));
await step("deno lint", () => denoProblems(["lint"], lintProblems(/^Found (\d+) problems?/m)));
const ENTRY_POINTS = ["mod.ts", "worker.ts", "runtimes/node/mod.ts", "runtimes/deno/mod.ts", "runtimes/bun/mod.ts"];
await step(
  "deno doc --lint on the entry points",
  () =>
    denoProblems(["doc", "--lint", ...ENTRY_POINTS], lintProblems(/^error: Found (\d+) documentation lint errors?/m)),
);
await step(
  "deno check --doc-only: every @example type-checks",
  () => denoProblems(["check", "--doc-only", "mod.ts", "worker.ts", "src/", "runtimes/"], typeErrors),
);
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
await step(
  "npm pack, install the tarball, import and run a worker on Node, Deno and Bun, run the bgworker command",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "bgworker-pack-"));
    try {
      const packed = await must("npm", ["pack", "--pack-destination", dir, "--json"], { quiet: true });
      const tarball = JSON.parse(packed.slice(packed.indexOf("["))).at(0).filename;
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "pack-smoke", private: true, type: "module" }));
      await must("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball)], { cwd: dir, quiet: true });
      writeFileSync(
        join(dir, "hello_worker.mjs"),
        [
          `import { myBgworkerEntry, myProcPid } from "bgworker/worker";`,
          `export function main(arg) { if (myBgworkerEntry.bgw_name !== "smoke" || arg !== 7 || !myProcPid) process.exit(3); }`,
        ].join("\n"),
      );
      writeFileSync(
        join(dir, "smoke.mjs"),
        [
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
        ].join("\n"),
      );
      const logExit = (label) => (output) => {
        if (/exited with exit code [1-9]/.test(output)) throw new Error(`${label}: the worker failed`);
      };
      for (
        const [label, command, args] of [
          ["node", process.execPath, ["smoke.mjs"]],
          ["deno", bin("deno"), ["run", "-A", "--no-prompt", "smoke.mjs"]],
          ["bun", bin("bun"), ["smoke.mjs"]],
        ]
      ) {
        console.log(`-- ${label}`);
        logExit(label)(await must(command, args, { cwd: dir, env: { RUNTIME: label } }));
      }
      // The bgworker command, as installed from the tarball (deno's npm: specifier would fetch the published one).
      for (
        const [label, command, args] of [
          ["npx bgworker", "npx", ["--no-install", "bgworker", "--help"]],
          ["bunx bgworker", bin("bun"), ["x", "bgworker", "--help"]],
          ["deno bgworker", bin("deno"), [
            "run",
            "-A",
            "node_modules/bgworker/dist/runtimes/shared/cli/main.js",
            "--help",
          ]],
        ]
      ) {
        console.log(`-- ${label} --help`);
        const help = await must(command, args, { cwd: dir });
        if (!help.includes("Usage: bgworker")) throw new Error(`${label} --help printed no usage:\n${help}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

console.log("\n=== checks ===");
console.table(steps);
for (const s of steps.filter((s) => s.problems !== "")) {
  console.log(`${s.check}: ${s.problems} problem${s.problems === 1 ? "" : "s"}`);
}
process.exit(steps.every((s) => s.ok) ? 0 : 1);
