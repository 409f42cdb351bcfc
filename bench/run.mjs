// npm run bench [-- --runtime node|node24|deno|bun|all]
//
// Builds dist/, runs bench/suite.mjs on each runtime asked for (and
// bench/peers.mjs on Node), prints one table per runtime with every figure,
// its floor, the ratio and the target, and writes everything to
// bench/results/latest.json. Figures are medians of REPETITIONS runs after a
// warm-up; ratios compare figures measured in the same run.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { bin, node24, root, run } from "../scripts/runtimes.mjs";

const RUNTIMES = {
  node: () => [process.execPath, []],
  node24: () => [node24(), []],
  deno: () => [bin("deno"), ["run", "-A"]],
  bun: () => [bin("bun"), []],
};
const flag = process.argv.indexOf("--runtime");
const asked = flag >= 0 ? process.argv[flag + 1] : "all";
const wanted = asked === "all" ? Object.keys(RUNTIMES) : asked.split(",");
for (const name of wanted) if (!(name in RUNTIMES)) throw new Error(`unknown runtime ${name}; use ${Object.keys(RUNTIMES).join("|")}|all`);

const build = await run("npm", ["run", "build"], { quiet: true });
if (build.code !== 0) throw new Error(`build failed:\n${build.output}`);

/** Run a bench script and parse the JSON on its last stdout line. */
async function script(runtime, file) {
  const [command, args] = RUNTIMES[runtime]();
  const result = await run(command, [...args, join(root, "bench", file)], { quiet: true, stderrLive: true });
  const last = result.output.trim().split("\n").reverse().find((line) => line.startsWith("{"));
  if (result.code !== 0 || !last) throw new Error(`${file} on ${runtime} failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  return JSON.parse(last);
}

const ms = (value) => `${value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1)} ms`;
const ratio = (value, floor) => `${(value / floor).toFixed(2)}×`;
const verdict = (ok) => (ok ? "met" : "NOT met");

function table(r, peers) {
  const nodeOrBun = r.runtime.startsWith("node") || r.runtime === "bun";
  const rows = [
    ["raw fork → first message (floor)", ms(r.floorForkFirstMessage), "", "", ""],
    ["a. registration → BGWH_STARTED, cold", ms(r.cold.started), ratio(r.cold.started, r.floorForkFirstMessage), "≤ 1.10× floor", verdict(r.cold.started <= 1.1 * r.floorForkFirstMessage)],
    ["a. registration → main running, cold", ms(r.cold.running), ratio(r.cold.running, r.floorForkFirstMessage), "", ""],
    ["a. registration → BGWH_STARTED, spares", ms(r.spares.started), ratio(r.spares.started, r.floorForkFirstMessage), nodeOrBun ? "≤ 0.26 ms" : "", nodeOrBun ? verdict(r.spares.started <= 0.26) : ""],
    ["a. registration → main running, spares", ms(r.spares.running), `+${ms(r.spares.running - r.spares.started)}`, "≤ STARTED + 2 ms", verdict(r.spares.running - r.spares.started <= 2)],
    ["raw SIGTERM → exit event (floor)", ms(r.floorSigtermToExit), "", "", ""],
    ["b. terminate → BGWH_STOPPED", ms(r.cold.terminated), ratio(r.cold.terminated, r.floorSigtermToExit), "≤ 1.10× floor", verdict(r.cold.terminated <= 1.1 * r.floorSigtermToExit)],
    ["raw exit(1) → exit event (floor)", ms(r.floorExitToEvent), "", "", ""],
    ["c. worker exit(1) → postmaster's exit", ms(r.exitDetection), `+${ms(r.exitDetection - r.floorExitToEvent)}`, "≤ floor + 1 ms", verdict(r.exitDetection - r.floorExitToEvent <= 1)],
    ["d. postmaster SIGKILL → last of 8 workers gone", ms(r.postmasterKill), "", "< 50 ms", verdict(r.postmasterKill < 50)],
    [`e. start ${r.many} workers at once`, ms(r.manyAtOnce.start), `${ms(r.manyAtOnce.start / r.many)} each`, "", ""],
    [`e. stop ${r.many} workers at once`, ms(r.manyAtOnce.stop), `${ms(r.manyAtOnce.stop / r.many)} each`, "", ""],
    ["e. postmaster memory per running worker", `${r.manyAtOnce.kbPerWorker.toFixed(1)} KB`, "", "≤ 100 KB", verdict(r.manyAtOnce.kbPerWorker <= 100)],
    ["f. postmaster CPU, 100 idle workers", `${r.idleCpuPercent.toFixed(2)} %`, "", "< 1 %", verdict(r.idleCpuPercent < 1)],
  ];
  if (peers) {
    rows.push(
      ["peer: cluster.fork → first message", ms(peers.clusterForkFirstMessage), ratio(peers.clusterForkFirstMessage, r.floorForkFirstMessage), "", ""],
      ["peer: PM2 start, wait_ready", ms(peers.pm2StartWaitReady), ratio(peers.pm2StartWaitReady, r.floorForkFirstMessage), "", ""],
    );
  }
  return rows.map(([figure, median, vsFloor, target, met]) => ({ figure, median, "vs floor": vsFloor, target, met }));
}

const results = { date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) }, runtimes: {} };
for (const runtime of wanted) {
  console.log(`\n=== ${runtime} ===`);
  const suite = await script(runtime, "suite.mjs");
  const peers = runtime.startsWith("node") ? await script(runtime, "peers.mjs") : null;
  results.runtimes[runtime] = { ...suite, peers };
  console.log(`${suite.runtime} ${suite.version}: medians of ${suite.repetitions} runs after ${suite.warmUp} warm-up runs`);
  console.table(table(suite, peers));
}
mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(join(root, "bench", "results", "latest.json"), JSON.stringify(results, null, 2) + "\n");
console.log("\nwritten: bench/results/latest.json");
