// The benchmark on the runtime that runs this file (Node, Deno or Bun), over
// the built package in dist/. Progress goes to stderr; the last line on
// stdout is the result as JSON. Run through `npm run bench`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  BGWH_STARTED,
  BGWH_STOPPED,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_SHMEM_ACCESS,
  BgWorkerStart_RecoveryFinished,
} from "../dist/mod.js";
import { roundTrips, TPS_TABLE, transactionsPerSecond } from "./db_loops.mjs";
import { benchPostmaster, event, onBun, rawChild, scriptArgs, steps, worker, WORKERS } from "./harness.mjs";
import { atomicAddRate, BENCH_LOCKS, BENCH_STRUCT, casPairNs, lockPairNs } from "./shm_loops.mjs";
import { median, medians, now, progress, repeat, REPETITIONS, sleep, WARM_UP } from "./stats.mjs";

const SHM_WORKERS = new URL("./shm_workers.mjs", import.meta.url).href;
const DB_WORKERS = new URL("./db_workers.mjs", import.meta.url).href;
/** How far ahead of registration a round's workers start their loops together: after connecting, before measuring. */
const DB_START_DELAY_MS = 1000;
const MANY = onBun ? 200 : 100;
const IDLE_WORKERS = 100;
const CPU_WINDOW_MS = 500;

// ---- floors: the runtime alone, no bgworker --------------------------------

async function rawForkFirstMessage() {
  const t0 = now();
  const child = rawChild("hello");
  const exited = event(child, "exit");
  await event(child, "message");
  const elapsed = now() - t0;
  child.kill("SIGKILL");
  await exited;
  return elapsed;
}

async function rawSigtermToExit() {
  const child = rawChild("hello");
  const exited = event(child, "exit").then(now);
  await event(child, "message");
  const t0 = now();
  process.kill(child.pid, "SIGTERM");
  return (await exited) - t0;
}

async function rawExitToEvent() {
  const child = rawChild("exit");
  const exited = event(child, "exit").then(now);
  await event(child, "message");
  const exitAt = now();
  return (await exited) - exitAt;
}

// ---- bgworker ----------------------------------------------------------------

/**
 * Registration → BGWH_STARTED, → main running, and terminate → BGWH_STOPPED, one worker at a time; with
 * `libraries`, the spares import those ahead (spareWorkerLibraries), as a steady server's would have.
 */
async function startAndTerminate(spares, libraries) {
  const { pm, lines, until } = benchPostmaster({ spareWorkerProcesses: spares, spareWorkerLibraries: libraries });
  await pm.start();
  const readySpares = () => lines.filter((l) => l.message.endsWith(" is ready")).length;
  const samples = await repeat(async (i) => {
    // With spares, each repetition starts with booted spares, as a steady server would have.
    if (spares) await until(() => (readySpares() >= spares + i ? true : undefined));
    const from = lines.length;
    const t0 = now();
    const handle = pm.registerDynamicBackgroundWorker(worker(`w${i}`, "reportAndNap", { bgw_notify_pid: pm.pid }));
    const { status } = await pm.waitForBackgroundWorkerStartup(handle);
    const t1 = now();
    if (status !== BGWH_STARTED) throw new Error(`worker did not start: status ${status}`);
    // Seen by the postmaster: the worker's first line, one message after its main began. No clock is shared
    // between processes precisely enough for less (Deno and Bun count process.hrtime from their own start).
    const mainAt = await until((line) => line.message === "main began" ? line.at : undefined, from);
    const t2 = now();
    pm.terminateBackgroundWorker(handle);
    await pm.waitForBackgroundWorkerShutdown(handle);
    return { started: t1 - t0, running: mainAt - t0, terminated: now() - t2 };
  });
  await pm.stop("fast");
  return medians(samples);
}

/** The worker environment variable that switches SIGTERM to the kernel's action off (runtimes/shared/worker_port.ts). */
const KERNEL_SIGTERM = "BGWORKER_KERNEL_SIGTERM";
const RECOVERED = "a SIGTERM from the postmaster did not reach this worker's handlers; delivering it now";

/**
 * Terminate → BGWH_STOPPED in the conditions of `cold` (terminate as soon as main's first line arrives) by
 * both ways SIGTERM can reach a worker (src/worker/sigterm_route.ts), side by side: the kernel's default
 * action and the runtime's listener (KERNEL_SIGTERM=0), each repetition one of each in alternating order
 * with the raw floor before them. `recovered` counts the kernel rounds whose SIGTERM the runtime caught before
 * main let signals through, delivered after the postmaster's announcement.
 */
async function terminateRoutes() {
  const { pm, lines, until } = benchPostmaster();
  await pm.start();
  let recovered = 0;
  const once = async (name, env) => {
    const from = lines.length;
    const handle = pm.registerDynamicBackgroundWorker(worker(name, "reportAndNap", { bgw_notify_pid: pm.pid }), {
      env,
    });
    await pm.waitForBackgroundWorkerStartup(handle);
    await until((line) => (line.message === "main began" ? true : undefined), from);
    const t0 = now();
    pm.terminateBackgroundWorker(handle);
    await pm.waitForBackgroundWorkerShutdown(handle);
    const elapsed = now() - t0;
    if (lines.slice(from).some((line) => line.message === RECOVERED)) recovered++;
    return elapsed;
  };
  const samples = await repeat(async (i) => {
    if (i === WARM_UP) recovered = 0;
    const floor = await rawSigtermToExit();
    const kernelFirst = i % 2 === 0;
    const first = await once(`r${i}a`, { [KERNEL_SIGTERM]: kernelFirst ? "1" : "0" });
    const second = await once(`r${i}b`, { [KERNEL_SIGTERM]: kernelFirst ? "0" : "1" });
    return { floor, kernel: kernelFirst ? first : second, listener: kernelFirst ? second : first };
  });
  await pm.stop("fast");
  return { ...medians(samples), recovered, rounds: samples.length };
}

/** A worker's exit(1) → the postmaster's exit line. */
async function exitDetection() {
  // No spares: a spare booting in the background would compete for the CPU with the exit being timed.
  const { pm, lines, until } = benchPostmaster();
  await pm.start();
  const samples = await repeat(async (i) => {
    const from = lines.length;
    pm.registerDynamicBackgroundWorker(worker(`x${i}`, "exitNow", { bgw_notify_pid: pm.pid }));
    const exitAt = await until((line) => line.message === "exiting" ? line.at : undefined, from);
    const seenAt = await until((line) => line.message.endsWith("exited with exit code 1") ? line.at : undefined, from);
    return seenAt - exitAt;
  });
  await pm.stop("fast");
  return median(samples);
}

/**
 * SIGKILL to a postmaster process with 8 workers → the last of them gone.
 * With `busy`, one of the 8 never yields its event loop: only the
 * watchdog (runtimes/shared/group_reaper.ts) ends it.
 */
async function postmasterKill(busy = false) {
  const samples = await repeat(async () => {
    const postmaster = spawn(process.execPath, scriptArgs("kill_target.mjs", ...(busy ? ["busy"] : [])), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    postmaster.stdout.on("data", (chunk) => out += chunk);
    while (!out.includes("\n")) await event(postmaster.stdout, "data");
    const pids = JSON.parse(out.slice(0, out.indexOf("\n")));
    const t0 = now();
    postmaster.kill("SIGKILL");
    while (pids.some(isAlive)) await new Promise((resolve) => setImmediate(resolve));
    return now() - t0;
  });
  return median(samples);
}

/** Alive and not a zombie (a re-parented worker may stay unreaped under an init that does not reap). */
function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** N workers at once: registration of all → all BGWH_STARTED, terminate all → all stopped, and memory per worker. */
async function manyAtOnce() {
  const { pm } = benchPostmaster({ maxWorkerProcesses: MANY });
  await pm.start();
  const samples = await repeat(async (i) => {
    const rss0 = process.memoryUsage().rss;
    const t0 = now();
    const handles = [];
    for (let w = 0; w < MANY; w++) {
      handles.push(pm.registerDynamicBackgroundWorker(worker(`m${i}.${w}`, "nap", { bgw_notify_pid: pm.pid })));
    }
    await Promise.all(handles.map((h) => pm.waitForBackgroundWorkerStartup(h)));
    const t1 = now();
    const rss1 = process.memoryUsage().rss;
    for (const h of handles) pm.terminateBackgroundWorker(h);
    await Promise.all(handles.map((h) => pm.waitForBackgroundWorkerShutdown(h)));
    const sample = { start: t1 - t0, stop: now() - t1, kbPerWorker: (rss1 - rss0) / 1024 / MANY };
    if (i === 0) progress(`first run: ${sample.kbPerWorker.toFixed(1)} KB of postmaster RSS per running worker`);
    return sample;
  });
  await pm.stop("fast");
  return medians(samples);
}

/** The postmaster's CPU with idle workers: REPETITIONS windows of CPU_WINDOW_MS. */
async function idleCpu() {
  const { pm } = benchPostmaster({ maxWorkerProcesses: IDLE_WORKERS });
  await pm.start();
  const handles = [];
  for (let w = 0; w < IDLE_WORKERS; w++) {
    handles.push(pm.registerDynamicBackgroundWorker(worker(`idle${w}`, "nap", { bgw_notify_pid: pm.pid })));
  }
  await Promise.all(handles.map((h) => pm.waitForBackgroundWorkerStartup(h)));
  await sleep(1000); // let the workers' start-up traffic settle
  const samples = await repeat(async () => {
    const cpu0 = process.cpuUsage();
    const t0 = now();
    await sleep(CPU_WINDOW_MS);
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) / 1000 / (now() - t0)) * 100;
  });
  await pm.stop("fast");
  return median(samples);
}

/**
 * Shared memory: Atomics.add per second in one worker alone and per worker
 * with two on the same word, and an uncontended LWLock pair; each worker
 * times its own loops. The floors run the same loops in this process on a
 * private SharedArrayBuffer.
 */
async function sharedMemory() {
  const { pm, lines } = benchPostmaster();
  pm.requestNamedLWLockTranche(BENCH_LOCKS, 2);
  let words;
  pm.on("shmemStartup", () => words = new Int32Array(pm.shmemInitStruct(BENCH_STRUCT.name, BENCH_STRUCT.size).buffer));
  await pm.start();
  const round = async (workers) => {
    Atomics.store(words, BENCH_STRUCT.arrived, 0);
    Atomics.store(words, BENCH_STRUCT.expected, workers);
    const from = lines.length;
    const handles = Array.from(
      { length: workers },
      (_, w) =>
        pm.registerDynamicBackgroundWorker(
          worker(`shm${w}`, "sharedMemoryLoops", {
            bgw_library_name: SHM_WORKERS,
            bgw_flags: BGWORKER_SHMEM_ACCESS,
            bgw_main_arg: w,
            bgw_notify_pid: pm.pid,
          }),
        ),
    );
    for (const h of handles) {
      if ((await pm.waitForBackgroundWorkerShutdown(h)) !== BGWH_STOPPED) throw new Error("worker did not stop");
    }
    const reports = lines.slice(from).filter((l) => l.message.startsWith("shmem ")).map((l) =>
      JSON.parse(l.message.slice(6))
    );
    if (reports.length !== workers) {
      throw new Error(
        `expected ${workers} reports, got ${reports.length}: ${lines.slice(from).map((l) => l.message).join("; ")}`,
      );
    }
    return { rate: median(reports.map((r) => r.rate)), pairNs: median(reports.map((r) => r.pairNs)) };
  };
  const private32 = new Int32Array(new SharedArrayBuffer(64));
  const samples = await repeat(async () => {
    const alone = await round(1);
    const pair = await round(2);
    return {
      floorRate: atomicAddRate(private32, 0),
      rateAlone: alone.rate,
      ratePerProcessOfTwo: pair.rate,
      floorPairNs: casPairNs(private32, 1),
      pairNs: alone.pairNs,
      postmasterPairNs: lockPairNs(pm.getNamedLWLockTranche(BENCH_LOCKS)[0]),
    };
  });
  await pm.stop("fast");
  return medians(samples);
}

/**
 * Database: the round trip of `select $1` and committed transactions per
 * second, from one worker and from four at once, on the embedded cluster and
 * (when run.mjs could start one) a real server. The floor is the same loop
 * from a client in the postmaster's own process, the same client package.
 */
async function database() {
  const clusters = { embedded: { embedded: {} } };
  if (process.env.BGWORKER_BENCH_POSTGRES_URL) clusters.real = { url: process.env.BGWORKER_BENCH_POSTGRES_URL };
  const result = {};
  for (const [name, option] of Object.entries(clusters)) result[name] = await databaseOn(option);
  return result;
}

async function databaseOn(option) {
  const { pm, lines } = benchPostmaster({ database: option, maxWorkerProcesses: 8 });
  await pm.start();
  const { default: postgres } = await import("postgres");
  const sql = postgres(await pm.connectionUrl(), { max: 1, prepare: false, onnotice: () => {} });
  await sql.unsafe(`drop table if exists ${TPS_TABLE}`);
  await sql.unsafe(`create table ${TPS_TABLE} (id int primary key, n int not null)`);
  await sql.unsafe(`insert into ${TPS_TABLE} select g, 0 from generate_series(0, 3) g`);
  const round = async (fn, workers) => {
    const from = lines.length;
    const startAt = new TextEncoder().encode(String(Math.round(Date.now() + DB_START_DELAY_MS)));
    const handles = Array.from({ length: workers }, (_, w) =>
      pm.registerDynamicBackgroundWorker(worker(`db${w}`, fn, {
        bgw_library_name: DB_WORKERS,
        bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
        bgw_start_time: BgWorkerStart_RecoveryFinished,
        bgw_main_arg: w,
        bgw_extra: startAt,
        bgw_notify_pid: pm.pid,
      })));
    for (const h of handles) {
      if ((await pm.waitForBackgroundWorkerShutdown(h)) !== BGWH_STOPPED) throw new Error("worker did not stop");
    }
    const reports = lines.slice(from).filter((l) => l.message.startsWith("db ")).map((l) =>
      JSON.parse(l.message.slice(3))
    );
    if (reports.length !== workers) {
      throw new Error(
        `expected ${workers} reports, got ${reports.length}: ${lines.slice(from).map((l) => l.message).join("; ")}`,
      );
    }
    return reports;
  };
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const medianOfRounds = async (once) => {
    const totals = [];
    for (let i = 0; i < 3; i++) totals.push(sum((await once()).map((r) => r.tps)));
    return median(totals);
  };
  const result = {
    floorRoundTripMs: await roundTrips((text, params) => sql.unsafe(text, params)),
    roundTripMs: (await round("databaseRoundTrip", 1))[0].roundTripMs,
    floorTps: await transactionsPerSecond(
      (body) => sql.begin((tx) => body((text, params) => tx.unsafe(text, params))),
      0,
    ),
    // Medians of three rounds: one second of two cores shared by up to eight processes is a noisy sample.
    tps1: await medianOfRounds(() => round("databaseTransactions", 1)),
    tps4: await medianOfRounds(() => round("databaseTransactions", 4)),
  };
  await sql.end();
  await pm.stop("fast");
  return result;
}

// ---- run -----------------------------------------------------------------------

const { results, step } = steps({ repetitions: REPETITIONS, warmUp: WARM_UP, many: MANY });
await step("floorForkFirstMessage", () => repeat(rawForkFirstMessage).then(median));
await step("cold", () => startAndTerminate(0));
await step("spares", () => startAndTerminate(2));
// The spare taken is the oldest ready one, booted a repetition before: it has imported the library by then.
await step("sparesListed", () => startAndTerminate(2, [WORKERS]));
await step("floorSigtermToExit", () => repeat(rawSigtermToExit).then(median));
await step("terminateRoutes", terminateRoutes);
await step("floorExitToEvent", () => repeat(rawExitToEvent).then(median));
await step("exitDetection", exitDetection);
await step("postmasterKill", () => postmasterKill());
await step("postmasterKillBusy", () => postmasterKill(true));
await step("manyAtOnce", manyAtOnce);
await step("idleCpuPercent", idleCpu);
await step("sharedMemory", sharedMemory);
await step("database", database);
console.log(JSON.stringify(results));
process.exit(0);
