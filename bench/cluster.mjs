// Issue 18: postmasters on many hosts as one cluster through a PostgreSQL
// database. Run by run.mjs when it has a real server
// (BGWORKER_BENCH_POSTGRES_URL); the last line on stdout is the result as
// JSON. Each figure has a cluster of its own (a fresh name), whose rows are
// deleted at the end.
//
// 1. Placement: the registerClusterWorker call, beside a `select $1` round
//    trip on another connection to the same server (the floor: a placement
//    is a transaction of a few statements). So that no placement starts a
//    process, this script's postmaster offers no slot (maxWorkerProcesses:
//    0) and a phantom host offers them all: a host row joined through the
//    cluster store of dist/ (joinCluster) with an hour's lease, which never
//    runs anything; its placements stay pending until the cluster's rows go.
// 2. Registration → BGWH_STARTED on the registering host, cold (no spares):
//    the cluster path (placement, nudge, the host's pass, local start, the
//    started report) against the local registerDynamicBackgroundWorker →
//    BGWH_STARTED of the same postmaster, in turn in each repetition. The
//    cluster figure is read twice: when the started report reached the
//    database (its changed_at, on the server's clock, brought to this
//    process's with an offset measured at the start), and when
//    waitForClusterWorkerStartup resolves (it polls every 50 ms).
// 3. Failover: hosts as child processes (this script with "host …"), a
//    worker with bgw_restart_time 1 placed by this script's postmaster (no
//    slots, so the worker is always on a child), kill -9 of the host that
//    runs it → BGWH_STARTED on another host, seen by polling its handle.
//    Beside it, how far past its old host's lease end + bgw_restart_time the
//    worker's started report came, on the server's clock alone (the host
//    was killed somewhere in its lease, so kill → start minus lease +
//    restart time can be below zero). A fresh host replaces the killed one
//    after each kill, so there are always two.
import { spawn } from "node:child_process";
import process from "node:process";
import { BGWH_STARTED, BGWH_STOPPED, Postmaster } from "../dist/mod.js";
import { clusterStore, DEFAULT_CLUSTER_SCHEMA, joinCluster } from "../dist/src/cluster/mod.js";
import { connectDatabase } from "../dist/runtimes/shared/database_client.js";
import { benchPostmaster, event, runtime, scriptArgs, steps, worker } from "./harness.mjs";
import { medians, now, progress, repeat, REPETITIONS, sleep, WARM_UP } from "./stats.mjs";

const DATABASE_URL = process.env.BGWORKER_BENCH_POSTGRES_URL;
/** Every host's lease: the shortest that leaves the poll (a twentieth of it) at its 100 ms floor. */
const LEASE_MS = 2000;
/** The failover worker's bgw_restart_time, in seconds. */
const RESTART_S = 1;
/** Placements timed, after WARM_UP: each is a few milliseconds, so more of them than REPETITIONS. */
const PLACEMENTS = Math.max(50, REPETITIONS);
/** Kills timed: each takes a lease and a restart time, some seconds; no warm-up (nothing in it is warmed). */
const FAILOVERS = 5;
/** How often the failover's handle is read: the figure is seconds, this is its resolution. */
const FAILOVER_POLL_MS = 10;
/** A failover that takes longer than this is a failure of the run. */
const FAILOVER_LIMIT_MS = 30_000;
const SLOTS_PER_HOST = 4;
const PHANTOM_SLOTS = 100_000;
const SCHEMA = DEFAULT_CLUSTER_SCHEMA;

const clusterName = (figure) => `bench-${figure}-${runtime}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
/** Worth a line on stderr: warnings and errors, less the FATAL every terminated worker logs. */
const odd = (level, message) =>
  !["DEBUG1", "LOG", "INFO", "NOTICE"].includes(level) &&
  !(level === "FATAL" && / due to administrator command$/.test(message));
/** The odd lines of a bench postmaster, on stderr: anything odd in the cluster shows in the run's log. */
const warnings = ({ lines }) => {
  for (const line of lines) if (odd(line.level, line.message)) progress(`${line.level}: ${line.message}`);
};

/** Server clock − this process's clock (`now()`), from the round trip of five that was shortest. */
async function clockOffset(admin) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const before = now();
    const [row] = await admin.query("select (extract(epoch from clock_timestamp()) * 1000)::float8 as at");
    const after = now();
    if (after - before < best.rtt) best = { rtt: after - before, offset: Number(row.at) - (before + after) / 2 };
  }
  return best.offset;
}

/** 1. The registerClusterWorker call, with the phantom host taking every placement. */
async function placement(admin, names) {
  const name = clusterName("placement");
  names.push(name);
  const bench = benchPostmaster({
    maxWorkerProcesses: 0,
    cluster: { url: DATABASE_URL, name, hostId: `${name}-self`, leaseMs: LEASE_MS },
  });
  await bench.pm.start(); // creates the schema on a first run: the phantom joins after
  await joinCluster(clusterStore(admin, name, SCHEMA), {
    hostId: `${name}-phantom`,
    maxWorkers: PHANTOM_SLOTS,
    leaseMs: 3_600_000,
  });
  const samples = [];
  for (let i = 0; i < WARM_UP + PLACEMENTS; i++) {
    const r0 = now();
    await admin.query("select $1::int as n", [i]);
    const roundTrip = now() - r0;
    const t0 = now();
    const handle = await bench.pm.registerClusterWorker(worker(`p${i}`, "nap"));
    const call = now() - t0;
    if (handle === null) throw new Error("placement found no host: the phantom host should have taken it");
    if (i >= WARM_UP) samples.push({ roundTrip, call });
  }
  await bench.pm.stop("fast");
  warnings(bench);
  return medians(samples);
}

/** 2. Registration → BGWH_STARTED, local and through the cluster, on one postmaster, cold. */
async function startup(admin, names) {
  const name = clusterName("startup");
  names.push(name);
  const offset = await clockOffset(admin);
  const bench = benchPostmaster({
    maxWorkerProcesses: 8,
    spareWorkerProcesses: 0,
    cluster: { url: DATABASE_URL, name, hostId: `${name}-self`, leaseMs: LEASE_MS },
  });
  const { pm } = bench;
  await pm.start();
  const local = async (i) => {
    const t0 = now();
    const handle = pm.registerDynamicBackgroundWorker(worker(`l${i}`, "nap", { bgw_notify_pid: pm.pid }));
    const { status } = await pm.waitForBackgroundWorkerStartup(handle);
    const started = now() - t0;
    if (status !== BGWH_STARTED) throw new Error(`local worker did not start: status ${status}`);
    pm.terminateBackgroundWorker(handle);
    await pm.waitForBackgroundWorkerShutdown(handle);
    return started;
  };
  const viaCluster = async (i) => {
    const t0 = now();
    const handle = await pm.registerClusterWorker(worker(`c${i}`, "nap"));
    if (handle === null) throw new Error("cluster placement found no host");
    const status = await pm.waitForClusterWorkerStartup(handle);
    const waited = now() - t0;
    if (status.status !== BGWH_STARTED) throw new Error(`cluster worker did not start: ${JSON.stringify(status)}`);
    const [row] = await admin.query(
      `select (extract(epoch from changed_at) * 1000)::float8 as at from ${SCHEMA}.workers
        where cluster = $1 and slot = $2 and generation = $3`,
      [handle.cluster, handle.slot, handle.generation],
    );
    const reported = Number(row.at) - offset - t0;
    await pm.terminateClusterWorker(handle);
    const stopped = await pm.waitForClusterWorkerShutdown(handle);
    if (stopped !== BGWH_STOPPED) throw new Error(`cluster worker did not stop: status ${stopped}`);
    return { reported, waited };
  };
  const samples = await repeat(async (i) => {
    // In turn, each first every other time: both see the same moments of a noisy machine.
    let started, cluster;
    if (i % 2) {
      cluster = await viaCluster(i);
      started = await local(i);
    } else {
      started = await local(i);
      cluster = await viaCluster(i);
    }
    return { localStarted: started, clusterReported: cluster.reported, clusterWaited: cluster.waited };
  });
  await pm.stop("fast");
  warnings(bench);
  return { ...medians(samples), clockOffsetMs: offset };
}

/** A host: a postmaster with the cluster option in a child process, ready once it has joined. */
async function startHost(children, name, hostId) {
  const child = spawn(
    process.execPath,
    scriptArgs("cluster.mjs", "host", DATABASE_URL, name, hostId, String(LEASE_MS), String(SLOTS_PER_HOST)),
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  const ready = await Promise.race([event(child, "message"), event(child, "exit").then(() => null)]);
  if (!ready?.ready) throw new Error(`cluster host ${hostId} exited before it joined`);
  return child;
}

/** 3. kill -9 of the host running a restartable worker → the worker BGWH_STARTED on another host. */
async function failoverTime(admin, names, children) {
  const name = clusterName("failover");
  names.push(name);
  const bench = benchPostmaster({
    maxWorkerProcesses: 0,
    cluster: { url: DATABASE_URL, name, hostId: `${name}-self`, leaseMs: LEASE_MS },
  });
  const { pm } = bench;
  await pm.start();
  const hosts = new Map();
  let next = 0;
  const addHost = async () => {
    const hostId = `${name}-h${next++}`;
    hosts.set(hostId, await startHost(children, name, hostId));
  };
  await addHost();
  await addHost();
  const handle = await pm.registerClusterWorker(worker("moving", "nap", { bgw_restart_time: RESTART_S }));
  if (handle === null) throw new Error("the failover worker found no host");
  let status = await pm.waitForClusterWorkerStartup(handle);
  if (status.status !== BGWH_STARTED) throw new Error(`the failover worker did not start: ${JSON.stringify(status)}`);
  const samples = [];
  for (let i = 0; i < FAILOVERS; i++) {
    const victim = status.hostId;
    const child = hosts.get(victim);
    if (!child) throw new Error(`the worker runs on ${victim}, which is none of this script's hosts`);
    hosts.delete(victim);
    const exited = event(child, "exit");
    const t0 = now();
    child.kill("SIGKILL");
    await exited;
    for (;;) {
      status = await pm.getClusterWorkerPid(handle);
      if (status.status === BGWH_STARTED && status.hostId !== victim) break;
      if (now() - t0 > FAILOVER_LIMIT_MS) throw new Error(`no failover in ${FAILOVER_LIMIT_MS} ms`);
      await sleep(FAILOVER_POLL_MS);
    }
    const seen = now() - t0;
    // Server clock only: the started report against the dead host's lease end plus the restart time.
    const [row] = await admin.query(
      `select (extract(epoch from w.changed_at - (h.lease_until + w.restart_time * interval '1 second')) * 1000)::float8
              as past
         from ${SCHEMA}.workers w join ${SCHEMA}.hosts h on h.cluster = w.cluster and h.host_id = $4
        where w.cluster = $1 and w.slot = $2 and w.generation = $3`,
      [handle.cluster, handle.slot, handle.generation, victim],
    );
    const past = Number(row.past);
    progress(`kill -9 of ${victim} → started on ${status.hostId}: ${seen.toFixed(0)} ms, ${past.toFixed(0)} ms past`);
    samples.push({ killToStarted: seen, pastLeaseAndRestart: past });
    await addHost();
  }
  await pm.terminateClusterWorker(handle);
  await pm.waitForClusterWorkerShutdown(handle);
  await Promise.all([...hosts.values()].map(stopHost));
  await pm.stop("fast");
  warnings(bench);
  return medians(samples);
}

/** Ask a host to stop; SIGKILL when it has not exited in 10 s. */
async function stopHost(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = event(child, "exit");
  child.send({ stop: true });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The figures, every cluster's rows deleted and every child killed whatever happens. */
async function cluster() {
  const admin = await connectDatabase(DATABASE_URL, { applicationName: "bgworker bench cluster" });
  const names = [];
  const children = new Set();
  const killAll = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.on("exit", killAll);
  try {
    const placed = await placement(admin, names);
    const started = await startup(admin, names);
    const failed = await failoverTime(admin, names, children);
    return {
      leaseMs: LEASE_MS,
      restartTimeS: RESTART_S,
      placements: PLACEMENTS,
      failovers: FAILOVERS,
      roundTripMs: placed.roundTrip,
      placementMs: placed.call,
      localStartedMs: started.localStarted,
      clusterReportedStartedMs: started.clusterReported,
      clusterWaitStartupMs: started.clusterWaited,
      clockOffsetMs: started.clockOffsetMs,
      failoverMs: failed.killToStarted,
      failoverPastLeaseMs: failed.pastLeaseAndRestart,
    };
  } finally {
    killAll();
    for (const name of names) {
      await admin.query(`delete from ${SCHEMA}.clusters where name = $1`, [name]).catch((error) =>
        progress(`could not delete cluster ${name}: ${error.message}`)
      );
    }
    await admin.close();
  }
}

/** A host process: this script with "host url name hostId leaseMs slots", driven over IPC. */
async function host([url, name, hostId, leaseMs, slots]) {
  const pm = new Postmaster({
    maxWorkerProcesses: Number(slots),
    cluster: { url, name, hostId, leaseMs: Number(leaseMs) },
    logger: (level, message) => {
      if (odd(level, message)) progress(`[${hostId}] ${level}: ${message}`);
    },
  });
  await pm.start();
  let stopping = false;
  const stop = async (mode) => {
    if (stopping) return;
    stopping = true;
    await pm.stop(mode);
    process.exit(0);
  };
  process.on("message", (message) => message.stop && stop("fast"));
  // The driver is gone (it failed, or was killed): go too, with every worker.
  process.on("disconnect", () => stop("immediate"));
  process.send({ ready: true });
}

if (process.argv.at(-6) === "host") {
  await host(process.argv.slice(-5));
} else {
  const { results, step } = steps({ repetitions: REPETITIONS, warmUp: WARM_UP });
  if (DATABASE_URL) await step("cluster", cluster);
  else progress("no real PostgreSQL (BGWORKER_BENCH_POSTGRES_URL): no cluster figures");
  console.log(JSON.stringify(results));
  process.exit(0);
}
