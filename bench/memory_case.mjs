// Issue 17, point 4: does spawning grow with the application? The same
// starts are timed in a postmaster process that holds 1 GiB of Buffers,
// resident (a fork copies the page tables of that memory, on the
// postmaster's event loop), and in one that holds nothing. Run by run.mjs;
// the last line on stdout is the result as JSON.
//
// Each is a runner process of its own (this script with "runner empty" or
// "runner held"), so that the gigabyte disturbs no other figure; this
// driver asks them in turn for one repetition at a time, so that the empty
// figure is from the same moments, not from before (a first phase on this
// machine came out up to a quarter slower than an identical second one).
//
// Each repetition times, side by side:
// - raw: child_process.spawn() of the floors' child (this runtime, its own
//   IPC): the call itself, and spawn → the child's first message;
// - bgworker: a cold start (no spares): the registration call, in which the
//   spawn happens (or is handed off), and registration → the worker's main
//   running;
// and, for both, the longest stall of the event loop from the spawn to the
// end, seen by a 1 ms timer: what the application's other work would feel,
// should part of the spawn leave the call for a later turn.
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { BGWH_STARTED } from "../dist/mod.js";
import { benchPostmaster, event, rawChild, scriptArgs, steps, worker } from "./harness.mjs";
import { medians, now, progress, REPETITIONS, sleep, WARM_UP } from "./stats.mjs";

const HELD_BYTES = 2 ** 30;
/** Held in chunks, as an application's Buffers would be: a single 1 GiB Buffer is over some runtimes' limit. */
const CHUNK_BYTES = 64 * 2 ** 20;
/** The stall probe's period: a timer this often, the gaps beyond it are stalls. */
const PROBE_MS = 1;
/** What counts as resident: a little under the gigabyte, for pages the kernel may already have shared or reclaimed. */
const RESIDENT_SHARE = 0.95;

/** This process's resident memory (VmRSS), in bytes: process.memoryUsage() is not the kernel's own word on every runtime. */
function residentBytes() {
  const match = readFileSync("/proc/self/status", "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  if (!match) throw new Error("no VmRSS in /proc/self/status");
  return Number(match[1]) * 1024;
}

/** 1 GiB of Buffers, every page written (Buffer.alloc's zeroes may be untouched pages), checked resident. */
function holdGigabyte() {
  const before = residentBytes();
  const held = [];
  for (let at = 0; at < HELD_BYTES; at += CHUNK_BYTES) held.push(Buffer.alloc(CHUNK_BYTES, 1 + held.length));
  const growth = residentBytes() - before;
  if (growth < RESIDENT_SHARE * HELD_BYTES) {
    throw new Error(`1 GiB of Buffers added only ${(growth / 2 ** 20).toFixed(0)} MiB of VmRSS: not resident`);
  }
  progress(`holding ${HELD_BYTES / 2 ** 20} MiB of Buffers: VmRSS grew ${(growth / 2 ** 20).toFixed(0)} MiB`);
  return { held, growth };
}

/**
 * Start a timer every PROBE_MS; the returned function stops it and gives the
 * longest gap between two of its turns beyond PROBE_MS, in milliseconds.
 */
function stallProbe() {
  let last = now();
  let longest = 0;
  let timer;
  const tick = () => {
    const at = now();
    longest = Math.max(longest, at - last - PROBE_MS);
    last = at;
    timer = setTimeout(tick, PROBE_MS);
  };
  timer = setTimeout(tick, PROBE_MS);
  return () => {
    clearTimeout(timer);
    return Math.max(longest, now() - last - PROBE_MS, 0);
  };
}

/** The floor: a bare spawn() of this runtime, the call and → first message, and the stall around them. */
async function rawSpawn() {
  const stop = stallProbe();
  await sleep(3 * PROBE_MS); // the probe has turned: the spawn is inside its watch
  const t0 = now();
  const child = rawChild("hello");
  const call = now() - t0;
  const exited = event(child, "exit");
  await event(child, "message");
  const firstMessage = now() - t0;
  const stall = stop();
  child.kill("SIGKILL");
  await exited;
  return { call, firstMessage, stall };
}

/**
 * A cold start: the registration call (the spawn happens in it, or is handed off from it), registration → main
 * running, and the longest stall from one to the other.
 */
async function coldStart(bench, name) {
  const { pm, lines, until } = bench;
  const from = lines.length;
  const stop = stallProbe();
  await sleep(3 * PROBE_MS);
  const t0 = now();
  const handle = pm.registerDynamicBackgroundWorker(worker(name, "reportAndNap", { bgw_notify_pid: pm.pid }));
  const call = now() - t0;
  const mainAt = await until((line) => line.message === "main began" ? line.at : undefined, from);
  const stall = stop();
  const { status } = await pm.waitForBackgroundWorkerStartup(handle);
  if (status !== BGWH_STARTED) throw new Error(`worker did not start: status ${status}`);
  pm.terminateBackgroundWorker(handle);
  await pm.waitForBackgroundWorkerShutdown(handle);
  return { call, running: mainAt - t0, stall };
}

/**
 * A runner: this script in its own process, holding the gigabyte or not,
 * with its own postmaster. It measures one repetition per request of the
 * driver and answers with the sample.
 */
async function runner(holds) {
  // No spares: they would take the starts, and their refills would spawn outside the timed calls.
  const bench = benchPostmaster({ spareWorkerProcesses: 0 });
  await bench.pm.start();
  const gigabyte = holds ? holdGigabyte() : { held: [], growth: 0 };
  process.on("message", async (message) => {
    if (message.stop) {
      // Still resident at the end (not swapped out during the runs), and still referenced until here.
      const residentAtEnd = residentBytes();
      await bench.pm.stop("fast");
      process.send({ residentAtEnd, chunks: gigabyte.held.length }, () => process.exit(0));
      return;
    }
    const raw = await rawSpawn();
    const bgw = await coldStart(bench, `${holds ? "held" : "empty"}${message.repetition}`);
    process.send({
      rawCall: raw.call,
      rawFirstMessage: raw.firstMessage,
      rawStall: raw.stall,
      call: bgw.call,
      running: bgw.running,
      stall: bgw.stall,
    });
  });
  process.send({ ready: true, growth: gigabyte.growth });
}

/**
 * The driver: two runners, one holding the gigabyte, one not, asked in
 * turn (each first every other time), so that both see the same moments of
 * a noisy machine and neither gains from coming second.
 */
async function memoryCase() {
  const runners = ["empty", "held"].map((mode) =>
    spawn(process.execPath, scriptArgs("memory_case.mjs", "runner", mode), {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    })
  );
  // A runner that dies (a failed start, a throw) would leave the driver waiting: fail the run instead.
  let stopping = false;
  for (const child of runners) {
    child.once("exit", (code, signal) => {
      if (stopping) return;
      progress(`a memory case runner exited early (${signal ?? `exit code ${code}`})`);
      process.exit(1);
    });
  }
  const ask = (child, request) => {
    const reply = event(child, "message");
    child.send(request);
    return reply;
  };
  const [, { growth }] = await Promise.all(runners.map((child) => event(child, "message")));
  progress(`${WARM_UP} + ${REPETITIONS} repetitions in each runner, in turn`);
  const samples = { empty: [], held: [] };
  for (let i = 0; i < WARM_UP + REPETITIONS; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const sample = await ask(runners[k], { repetition: i });
      if (i >= WARM_UP) samples[k ? "held" : "empty"].push(sample);
    }
  }
  stopping = true;
  const exits = runners.map((child) => event(child, "exit"));
  const [, end] = await Promise.all(runners.map((child) => ask(child, { stop: true })));
  await Promise.all(exits);
  if (end.chunks * CHUNK_BYTES !== HELD_BYTES) throw new Error("the held runner lost its chunks");
  if (end.residentAtEnd < RESIDENT_SHARE * HELD_BYTES) {
    throw new Error(`the held runner's VmRSS fell to ${(end.residentAtEnd / 2 ** 20).toFixed(0)} MiB: swapped out?`);
  }
  return {
    heldBytes: HELD_BYTES,
    residentGrowthBytes: growth,
    residentAtEndBytes: end.residentAtEnd,
    empty: medians(samples.empty),
    held: medians(samples.held),
  };
}

if (process.argv.at(-2) === "runner") {
  await runner(process.argv.at(-1) === "held");
} else {
  const { results, step } = steps({ repetitions: REPETITIONS, warmUp: WARM_UP });
  await step("memoryCase", memoryCase);
  console.log(JSON.stringify(results));
  process.exit(0);
}
