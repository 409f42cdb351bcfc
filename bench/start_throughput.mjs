// Issue 17, point 6: start throughput. Starts per second one at a time
// (register, wait for main to run, then the next) and in bursts (register
// BURST at once, until all have run main), cold and with spares, and the
// postmaster's CPU per start. The floors do the same with the raw child
// (this runtime, its own IPC, no bgworker). The last line on stdout is the
// result as JSON; run by run.mjs.
//
// A start counts once the worker's main runs. The postmaster's CPU is
// process.cpuUsage() from the first registration until all have run main
// and, with spares, until the pool is full and booted again: refilling it
// is part of what each start costs. So is the CPU of its helper processes
// (a spawner that forks for it, the group reaper), which process.cpuUsage()
// does not see: it is counted apart, from /proc.
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { benchPostmaster, event, rawChild, steps, worker } from "./harness.mjs";
import { median, now, progress, sleep } from "./stats.mjs";

const SEQUENCE = 10;
const BURST = 20;
const SPARES = 2;
/** Each round times every variant once; medians of ROUNDS, after a warm-up round of half the starts (to save time). */
const ROUNDS = 3;

const cpuMs = (since) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};
const rate = (starts, ms) => starts / (ms / 1000);

/**
 * CPU milliseconds of each child process of this one, by pid: the sum of
 * its threads' time on a CPU (/proc/PID/task/TID/schedstat, in nanoseconds;
 * /proc/PID/stat counts in 10 ms ticks, too coarse for a round).
 */
function childrenCpuMs() {
  const cpu = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== process.pid) continue;
      let ns = 0;
      for (const tid of readdirSync(`/proc/${name}/task`)) {
        ns += Number(readFileSync(`/proc/${name}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      }
      cpu.set(Number(name), ns / 1e6);
    } catch {
      // It exited meanwhile.
    }
  }
  return cpu;
}

/** Every postmaster of this script: their workers and spares are no helpers. */
const postmasters = [];

/**
 * The CPU the helpers spent since `before` (a childrenCpuMs()): children
 * there at both ends that are no worker or spare of any postmaster here (on
 * Bun, spares are children of this process, and one may still be loading
 * modules after its ready). A raw child is born in the window.
 */
function helpersCpuMs(before) {
  const notHelpers = new Set(postmasters.flatMap((pmx) => [...pmx.workerPids, ...pmx.readySparePids()]));
  let ms = 0;
  for (const [pid, after] of childrenCpuMs()) {
    if (before.has(pid) && !notHelpers.has(pid)) ms += after - before.get(pid);
  }
  return ms;
}

const sample = (starts, elapsedMs, cpuMs, helpersCpuMs) => ({
  perSecond: rate(starts, elapsedMs),
  cpuMsPerStart: cpuMs / starts,
  helpersCpuMsPerStart: helpersCpuMs / starts,
});

/** The floors: `n` raw children, one at a time or all at once, until each has sent its first message. */
async function rawRound(burst, n) {
  const children = [];
  const helpers0 = childrenCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  if (burst) {
    for (let k = 0; k < n; k++) children.push(rawChild("hello"));
    await Promise.all(children.map((child) => event(child, "message")));
  } else {
    for (let k = 0; k < n; k++) {
      children.push(rawChild("hello"));
      await event(children[k], "message");
    }
  }
  const elapsed = now() - t0;
  const cpu = cpuMs(cpu0);
  // None: the postmasters of the other rounds are idle. Measured all the same, as it is for them.
  const helpers = helpersCpuMs(helpers0);
  const exits = children.map((child) => event(child, "exit"));
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(exits);
  return sample(children.length, elapsed, cpu, helpers);
}

/** A postmaster with `spares` spares, and a wait for its pool to be full of booted spares. */
async function throughputPostmaster(spares) {
  const bench = benchPostmaster({ maxWorkerProcesses: BURST, spareWorkerProcesses: spares });
  await bench.pm.start();
  // A spare's pid becomes its worker's: the ready spares still idle are those no worker has.
  const workerPids = new Set();
  const readySparePids = () =>
    bench.lines.flatMap((line) => {
      const pid = line.message.match(/^spare worker process \(PID (\d+)\) is ready$/)?.[1];
      return pid === undefined ? [] : [Number(pid)];
    });
  const idleReady = () => readySparePids().filter((pid) => !workerPids.has(pid)).length;
  // Checks the last line once, so that a pool already full resolves at once.
  const poolFull = () => bench.until(() => idleReady() >= spares ? true : undefined, bench.lines.length - 1);
  const pmx = { ...bench, spares, workerPids, readySparePids, poolFull };
  postmasters.push(pmx);
  return pmx;
}

/** `n` starts of bgworker, one at a time or all at once, from a full pool of spares (if any) to all having run main. */
async function bgworkerRound(pmx, burst, n, round) {
  const { pm, lines, until, workerPids, poolFull } = pmx;
  const mainBegan = (line) => line.message === "main began" ? true : undefined;
  await poolFull();
  const handles = [];
  const register = (k) => {
    const handle = pm.registerDynamicBackgroundWorker(
      worker(`t${round}.${k}`, "reportAndNap", { bgw_notify_pid: pm.pid }),
    );
    if (!handle) throw new Error("a registration found no free slot");
    handles.push(handle);
  };
  const helpers0 = childrenCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = now();
  if (burst) {
    const from = lines.length;
    for (let k = 0; k < n; k++) register(k);
    let began = 0;
    await until((line) => mainBegan(line) && ++began === n ? true : undefined, from);
  } else {
    for (let k = 0; k < n; k++) {
      // The workers before it nap: the next "main began" is this one's.
      const from = lines.length;
      register(k);
      await until(mainBegan, from);
    }
  }
  const elapsed = now() - t0;
  for (const handle of handles) workerPids.add((await pm.waitForBackgroundWorkerStartup(handle)).pid);
  await poolFull();
  const cpu = cpuMs(cpu0);
  const helpers = helpersCpuMs(helpers0);
  for (const handle of handles) pm.terminateBackgroundWorker(handle);
  for (const handle of handles) await pm.waitForBackgroundWorkerShutdown(handle);
  return sample(handles.length, elapsed, cpu, helpers);
}

async function startThroughput() {
  const cold = await throughputPostmaster(0);
  const spares = await throughputPostmaster(SPARES);
  // Every variant once per round, interleaved, so that all see the same moments of a noisy machine.
  const variants = {
    rawSequence: (scale) => rawRound(false, SEQUENCE / scale),
    rawBurst: (scale) => rawRound(true, BURST / scale),
    coldSequence: (scale, round) => bgworkerRound(cold, false, SEQUENCE / scale, round),
    coldBurst: (scale, round) => bgworkerRound(cold, true, BURST / scale, round),
    sparesSequence: (scale, round) => bgworkerRound(spares, false, SEQUENCE / scale, round),
    sparesBurst: (scale, round) => bgworkerRound(spares, true, BURST / scale, round),
  };
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    progress(round === 0 ? "warm-up round" : `round ${round} of ${ROUNDS}`);
    for (const [name, measure] of Object.entries(variants)) {
      const measured = await measure(round === 0 ? 2 : 1, round);
      if (round > 0) samples[name].push(measured);
      await sleep(50); // let the last round's exits settle before the next timing
    }
  }
  await cold.pm.stop("fast");
  await spares.pm.stop("fast");
  const result = { sequence: SEQUENCE, burst: BURST, spares: SPARES, rounds: ROUNDS };
  for (const [name, list] of Object.entries(samples)) {
    result[name] = Object.fromEntries(Object.keys(list[0]).map((key) => [key, median(list.map((s) => s[key]))]));
  }
  return result;
}

const { results, step } = steps();
await step("startThroughput", startThroughput);
console.log(JSON.stringify(results));
process.exit(0);
