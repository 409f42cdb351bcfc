// The rooms of the postmaster, built and driven directly (not through the facade): each room's own
// contract, on the fake runtime.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { ChannelRequests } from "../src/postmaster/channel_requests.ts";
import { ChildExits } from "../src/postmaster/child_exits.ts";
import type { PostmasterContext } from "../src/postmaster/context.ts";
import { DatabaseCluster, redactUrl } from "../src/postmaster/database_cluster.ts";
import type { PostmasterEvents, WorkerSummary } from "../src/postmaster/events.ts";
import { Launcher } from "../src/postmaster/launcher.ts";
import { checkPostmasterOptions } from "../src/postmaster/options.ts";
import * as publicApi from "../src/postmaster/public_api.ts";
import { Registrations } from "../src/postmaster/registrations.ts";
import { buildRooms } from "../src/postmaster/rooms.ts";
import { ClusterSegment } from "../src/postmaster/shared_memory.ts";
import { Shutdown } from "../src/postmaster/shutdown.ts";
import { SlotTable } from "../src/postmaster/slot_table.ts";
import { SparePool } from "../src/postmaster/spare_pool.ts";
import { validateBackgroundWorker } from "../src/worker_spec.ts";
import { FakeRuntime, worker } from "./helpers/fake_runtime.ts";

function rooms() {
  const runtime = new FakeRuntime();
  const built = buildRooms(
    checkPostmasterOptions({
      adapter: runtime,
      logger: (level: string, message: string) => runtime.writeLog(`${level}:  ${message}`),
    }),
  );
  built.ctx.state.transition("startup");
  built.ctx.state.transition("run");
  return { runtime, ...built };
}

test("buildRooms wires every room to one context; registrations and the launcher start a worker", () => {
  const { runtime, ctx, registrations } = rooms();
  assert.ok(registrations instanceof Registrations);
  const handle = registrations.registerDynamic(validateBackgroundWorker(worker("w"), { dynamic: true }))!;
  assert.equal(runtime.count("w"), 1, "registering a dynamic worker while running starts it");
  const summaries: WorkerSummary[] = registrations.summaries();
  assert.deepEqual(summaries.map((s) => [s.bgw_name, s.dynamic]), [["w", true]]);
  runtime.last("w").reportStarted();
  assert.equal(SlotTable.statusOf(ctx.table.lookup(handle)).status, BGWH_STARTED);
});

test("the launcher starts nothing unless running, and a failed spawn counts as exit 1", () => {
  const { runtime, ctx } = rooms();
  const slot = ctx.table.allocate(
    validateBackgroundWorker(worker("f", { bgw_restart_time: 2 }), { dynamic: true }),
    true,
  )!;
  const launched: string[] = [];
  const launcher = new Launcher(ctx, {
    message: () => launched.push("message"),
    assigned: () => launched.push("assigned"),
    protocolError: () => {},
    exit: () => {},
  });
  runtime.spawnFailures = 1;
  launcher.maybeStartWorkers();
  assert.equal(slot.phase, "restart_wait");
  assert.ok(runtime.logs.some((l) => l.includes(`could not fork worker process for background worker "f"`)));
  runtime.advance(2000); // the context's own launcher starts it again
  assert.equal(runtime.count("f"), 1);
});

test("channel requests: a report of start twice is a protocol violation that kills the worker, never a crash", () => {
  const { runtime, ctx, registrations } = rooms();
  registrations.registerDynamic(
    validateBackgroundWorker(worker("c", { bgw_flags: BGWORKER_SHMEM_ACCESS }), { dynamic: true }),
  );
  const child = runtime.last("c").reportStarted();
  const channel = new ChannelRequests(ctx);
  const slot = ctx.table.inUse()[0]!;
  channel.onMessage(slot, child, { type: "started" });
  assert.deepEqual(child.signals, ["SIGKILL"]);
  assert.equal(slot.terminate && slot.killedByPostmaster, true);
});

test("child exits and shutdown: the last exit of a fast stop finishes it", async () => {
  const { runtime, ctx, registrations, shutdown } = rooms();
  assert.ok(shutdown instanceof Shutdown);
  registrations.registerDynamic(validateBackgroundWorker(worker("s"), { dynamic: true }));
  const child = runtime.last("s").reportStarted();
  const stopped = shutdown.stop("fast");
  assert.deepEqual(child.signals, ["SIGTERM"]);
  const exits = new ChildExits(ctx);
  exits.onExit(ctx.table.inUse()[0]!, child, null, "SIGTERM");
  await stopped;
  assert.equal(ctx.state.current, "stopped");
  assert.ok(runtime.logs.includes("LOG:  database system is shut down"));
  await assert.rejects(shutdown.stop("sideways" as never), TypeError);
});

test("the public API module exports the supervisor's names", () => {
  assert.equal(publicApi.BGW_MAXLEN, 96);
  assert.equal(typeof publicApi.BackgroundWorkerError, "function");
  assert.equal(typeof publicApi.SharedMemoryError, "function");
  const events: (keyof PostmasterEvents)[] = ["notify", "shutdown", "shmemStartup"];
  assert.equal(events.length, 3);
});

test("the database, shared memory and spare rooms can be built alone", async () => {
  const runtime = new FakeRuntime();
  const ctx: Pick<PostmasterContext, "log"> = { log: () => {} };
  const cluster = new DatabaseCluster({ url: "postgres://app:secret@127.0.0.1:1/app" }, { log: ctx.log });
  assert.equal(cluster.ready, true);
  assert.equal(redactUrl("postgres://app:secret@db/app"), "postgres://app:***@db/app");
  const embedded = new DatabaseCluster({ embedded: {} }, { log: ctx.log });
  await embedded.ensureStarted();
  assert.match(JSON.stringify(embedded.forWorker()), /no embedded database/);
  const segment = new ClusterSegment({
    pid: 1,
    loadMapper: () => Promise.reject(new Error("none")),
    processExists: () => true,
    atExit: () => () => {},
    log: ctx.log,
  });
  await segment.create();
  assert.ok("unavailable" in segment.forWorker());
  const pool = new SparePool(1, {
    adapter: runtime,
    log: ctx.log,
    onSpareGone: () => {},
    hasSharedMemory: () => false,
    mayRefill: () => true,
  });
  pool.scheduleRefill();
  runtime.advance(0);
  assert.equal(pool.size, 1);
  pool.close();
  assert.deepEqual(runtime.spawned[0]!.signals, ["SIGKILL"]);
  assert.equal(SlotTable.statusOf(null).status, BGWH_STOPPED);
});
