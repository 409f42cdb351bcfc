// npm run bench [-- --runtime node|node24|deno|bun|all]
//
// Builds dist/, runs bench/suite.mjs, bench/memory_case.mjs,
// bench/start_throughput.mjs and, with a real server, bench/cluster.mjs on
// each runtime asked for (and bench/peers.mjs on Node), prints one table per
// runtime with every figure, its floor, the ratio and the target, and writes
// everything to bench/results/latest.json. Figures are medians of
// REPETITIONS runs after a warm-up; ratios compare figures measured in the
// same run.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { bin, node24, root, run } from "../scripts/runtimes.mjs";
import { startRealPostgres } from "../scripts/real_postgres.mjs";
import { figures } from "./figures.mjs";

const RUNTIMES = {
  node: () => [process.execPath, []],
  node24: () => [node24(), []],
  deno: () => [bin("deno"), ["run", "-A"]],
  bun: () => [bin("bun"), []],
};
const flag = process.argv.indexOf("--runtime");
// BENCH_ONLY=name,name measures only those figures (each script skips the others), to work on some of them.
const only = process.env.BENCH_ONLY?.split(",");
const asked = flag >= 0 ? process.argv[flag + 1] : "all";
const wanted = asked === "all" ? Object.keys(RUNTIMES) : asked.split(",");
for (const name of wanted) {
  if (!(name in RUNTIMES)) throw new Error(`unknown runtime ${name}; use ${Object.keys(RUNTIMES).join("|")}|all`);
}

// The database figures' real server, as npm test starts it; without one, they are measured on the embedded cluster
// only, and the cluster figures (which need a server by URL) not at all.
let realPostgres = null;
if (!only || only.includes("database") || only.includes("cluster")) {
  try {
    realPostgres = await startRealPostgres();
    process.env.BGWORKER_BENCH_POSTGRES_URL = realPostgres.url;
  } catch (error) {
    console.log(`no real PostgreSQL for the database figures: ${error.message}`);
  }
}

const build = await run("npm", ["run", "build"], { quiet: true });
if (build.code !== 0) throw new Error(`build failed:\n${build.output}`);

/** Run a bench script and parse the JSON on its last stdout line. */
async function script(runtime, file) {
  const [command, args] = RUNTIMES[runtime]();
  const result = await run(command, [...args, join(root, "bench", file)], { quiet: true, stderrLive: true });
  const last = result.output.trim().split("\n").reverse().find((line) => line.startsWith("{"));
  if (result.code !== 0 || !last) {
    throw new Error(`${file} on ${runtime} failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  }
  return JSON.parse(last);
}

const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  runtimes: {},
};
try {
  for (const runtime of wanted) {
    console.log(`\n=== ${runtime} ===`);
    const suite = await script(runtime, "suite.mjs");
    // In their own processes: the memory case holds 1 GiB, and the throughput runs leave many exits behind.
    for (const [file, name] of [["memory_case.mjs", "memoryCase"], ["start_throughput.mjs", "startThroughput"]]) {
      if (!only || only.includes(name)) Object.assign(suite, await script(runtime, file));
    }
    // Hosts of one cluster through the real server, in their own process too: its host processes and their rows.
    if ((!only || only.includes("cluster")) && realPostgres) Object.assign(suite, await script(runtime, "cluster.mjs"));
    const peers = runtime.startsWith("node") && !only ? await script(runtime, "peers.mjs") : null;
    results.runtimes[runtime] = { ...suite, peers };
    console.log(
      `${suite.runtime} ${suite.version}: medians of ${suite.repetitions} runs after ${suite.warmUp} warm-up runs`,
    );
    // BENCH_ONLY measures some figures only: the table needs them all, so those are printed as they are.
    if (only) console.log(JSON.stringify(suite, null, 2));
    else console.table(figures(suite, peers));
  }
} finally {
  await realPostgres?.stop();
}
const file = only ? "partial.json" : "latest.json";
mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(join(root, "bench", "results", file), JSON.stringify(results, null, 2) + "\n");
console.log(`\nwritten: bench/results/${file}`);
