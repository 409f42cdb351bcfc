#!/usr/bin/env node
// npm test: the one suite on the machine's Node (through tsx), on Node 24
// from the npm registry, on Deno and on Bun. Prints each runtime's pass and
// fail counts and fails if any runtime fails or runs no test.
//
//   npm test                          all runtimes, all tests
//   npm test -- --runtime deno,bun    some runtimes
//   npm test -- tests/foo.test.ts     some files
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { startRealPostgres } from "./real_postgres.mjs";
import { bin, node24, root, run, tsxCli } from "./runtimes.mjs";

const args = process.argv.slice(2);
const runtimeArg = args.indexOf("--runtime");
/** Longest one runtime's suite may take; a full run takes 2 to 6 minutes per runtime on a 2-core machine. */
const RUNTIME_TIMEOUT_MS = 10 * 60_000;
const wanted = runtimeArg >= 0 ? args.splice(runtimeArg, 2)[1].split(",") : ["node", "node24", "deno", "bun"];

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "fixtures" || e.name === "helpers" ? [] : testFiles(path);
    return e.name.endsWith(".test.ts") ? [path] : [];
  });
}
const files = (args.length ? args.map((f) => join(root, f)) : testFiles(join(root, "tests"))).map((f) =>
  "./" + relative(root, f)
).sort();

const tap = (output) => ({ pass: last(output, /^# pass (\d+)$/gm), fail: last(output, /^# fail (\d+)$/gm) });
const RUNTIMES = {
  node: {
    label: `node ${process.versions.node} (tsx)`,
    command: () => [process.execPath, [tsxCli, "--test", "--test-reporter=tap", ...files]],
    counts: tap,
  },
  node24: {
    label: "node 24 (npm registry)",
    command: () => [node24(), ["--test", "--test-reporter=tap", ...files]],
    counts: tap,
  },
  deno: {
    label: "deno",
    command: () => [bin("deno"), ["test", "-A", "--no-prompt", ...files]],
    counts: (output) => {
      const m = [...output.matchAll(/(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g)].at(-1);
      return { pass: m ? Number(m[1]) : null, fail: m ? Number(m[2]) : null };
    },
  },
  bun: {
    label: "bun",
    command: () => [bin("bun"), ["test", "--timeout", "60000", ...files]],
    counts: (output) => ({ pass: last(output, /^\s*(\d+) pass$/gm), fail: last(output, /^\s*(\d+) fail$/gm) }),
  },
};

function last(text, regex) {
  const m = [...text.matchAll(regex)].at(-1);
  return m ? Number(m[1]) : null;
}

// The database tests run against the embedded cluster and against this real server.
const realPostgres = await startRealPostgres();
process.env.BGWORKER_TEST_POSTGRES_URL = realPostgres.url;
console.log(
  `real PostgreSQL for the database tests: ${realPostgres.version} at ${
    realPostgres.url.replace(/:[^:@/]*@/, ":***@")
  }`,
);

const results = [];
try {
  for (const name of wanted) {
    const runtime = RUNTIMES[name];
    if (!runtime) throw new Error(`unknown runtime ${name}; use ${Object.keys(RUNTIMES).join(", ")}`);
    console.log(`\n=== ${runtime.label}: ${files.length} test files ===`);
    const started = Date.now();
    const [command, commandArgs] = runtime.command();
    // A hung suite must fail within CI's budget, not eat it.
    const { code, output } = await run(command, commandArgs, { timeoutMs: RUNTIME_TIMEOUT_MS });
    const { pass, fail } = runtime.counts(output.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), ""));
    const ok = code === 0 && pass !== null && pass > 0 && fail === 0;
    results.push({
      runtime: runtime.label,
      pass: pass ?? 0,
      fail: fail ?? 0,
      exit: code,
      seconds: ((Date.now() - started) / 1000).toFixed(1),
      ok,
    });
  }
} finally {
  await realPostgres.stop();
}

console.log("\n=== summary ===");
console.table(results);
for (const r of results) {
  if (r.pass === 0) console.log(`${r.runtime}: ran no test`);
  else if (!r.ok) console.log(`${r.runtime}: FAILED (exit ${r.exit}, ${r.fail} failed)`);
}
const passed = results.reduce((n, r) => n + r.pass, 0);
const failed = results.reduce((n, r) => n + r.fail, 0) + results.filter((r) => !r.ok && r.fail === 0).length;
console.log(`${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
