// The cluster option and the postmaster's cluster calls, in one process: the
// option's checks, bad input to each call, and one host on a fake runtime
// over the real server (the start message carries the placement by value,
// reports reach the cluster, stop() leaves so a restartable worker moves).
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectDatabase } from "../runtimes/shared/database_client.ts";
import { BGWH_NOT_YET_STARTED, BGWH_POSTMASTER_DIED, BGWH_STARTED } from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import { ClusterApi } from "../src/postmaster/cluster_api.ts";
import { ClusterAssignments } from "../src/postmaster/cluster_assignments.ts";
import { ClusterHost } from "../src/postmaster/cluster_host.ts";
import { checkClusterOption } from "../src/postmaster/cluster_option.ts";
import { SKIP_WITHOUT_SERVER as skip } from "./helpers/cluster_db.ts";
import { REAL_URL } from "./helpers/clusters.ts";
import { pollUntil } from "./helpers/cluster_hosts.ts";
import { fakePostmaster, type FakeRuntime, worker } from "./helpers/fake_runtime.ts";

test("cluster option: defaults, and each bad field named", () => {
  assert.deepEqual(checkClusterOption(undefined), null);
  assert.deepEqual(checkClusterOption({ url: "postgres://db/app" }), {
    url: "postgres://db/app",
    name: "default",
    hostId: null,
    leaseMs: 10_000,
    maxWorkers: null,
  });
  const cases: [unknown, RegExp, typeof TypeError][] = [
    [[], /cluster must be an object/, TypeError],
    [{ url: "postgres://db/app", leaseMS: 5 }, /unknown field cluster\.leaseMS/, TypeError],
    [
      { url: "mysql://u:hunter2@db/app" },
      /cluster\.url must be a postgres:\/\/ or postgresql:\/\/ URL; got mysql:\/\/u:\*\*\*@db/,
      TypeError,
    ],
    [{ url: "postgres://db/app", name: "" }, /cluster\.name must be a non-empty string/, TypeError],
    [{ url: "postgres://db/app", hostId: 7 }, /cluster\.hostId must be a non-empty string/, TypeError],
    [
      { url: "postgres://db/app", leaseMs: 999 },
      /cluster\.leaseMs must be an integer from 1000 to 3600000; got 999/,
      RangeError,
    ],
    [{ url: "postgres://db/app", leaseMs: "10s" }, /cluster\.leaseMs must be an integer/, TypeError],
    [{ url: "postgres://db/app", maxWorkers: -1 }, /cluster\.maxWorkers must be an integer from 0/, RangeError],
  ];
  for (const [value, message, kind] of cases) {
    assert.throws(() => checkClusterOption(value), (error: unknown) => {
      assert.ok(error instanceof kind, `${JSON.stringify(value)}: ${String(error)}`);
      assert.match((error as Error).message, message);
      assert.doesNotMatch((error as Error).message, /hunter2/);
      return true;
    });
  }
  // Through the constructor too: the Postmaster is not built.
  assert.throws(() => fakePostmaster({ cluster: { url: "postgres://db/app", leaseMs: 10 } }), /cluster\.leaseMs/);
});

test("cluster calls: without the option, or before start(), each says why; bad input names the field", async () => {
  const { pm } = fakePostmaster();
  assert.ok(pm instanceof ClusterApi);
  await assert.rejects(pm.registerClusterWorker(worker("w", { bgw_start_time: 2 })), /has no cluster option/);
  await assert.rejects(pm.getClusterWorkerPid({ cluster: "default", slot: 0, generation: 1 }), /has no cluster option/);
  const { pm: clustered } = fakePostmaster({ cluster: { url: "postgres://db/app", name: "c1" } });
  await assert.rejects(clustered.registerClusterWorker(worker("w", { bgw_start_time: 2 })), /not in its cluster yet/);
  await assert.rejects(clustered.registerClusterWorker(worker("", { bgw_start_time: 2 })), (error: unknown) => {
    assert.ok(error instanceof BackgroundWorkerError);
    assert.equal(error.field, "bgw_name");
    return true;
  });
  await assert.rejects(
    clustered.registerClusterWorker(worker("notify", { bgw_start_time: 2, bgw_notify_pid: 4242 })),
    (error: unknown) => error instanceof BackgroundWorkerError && error.field === "bgw_notify_pid",
  );
  await assert.rejects(
    clustered.registerClusterWorker(worker("opts", { bgw_start_time: 2 }), { cwd: 7 as never }),
    /cwd/,
  );
  for (
    const [handle, field] of [[null, "it must be"], [{ cluster: "c1", slot: -1, generation: 1 }, "bad slot"], [
      { cluster: "c1", slot: 0, generation: 0 },
      "bad generation",
    ]] as const
  ) {
    await assert.rejects(clustered.terminateClusterWorker(handle as never), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, new RegExp(field));
      return true;
    });
  }
});

test("cluster host: a runtime that cannot connect, or a server out of reach, fails start() and leaves nothing begun", async () => {
  const { pm, runtime } = fakePostmaster({ cluster: { url: "postgres://u:hunter2@db/app" } });
  pm.registerBackgroundWorker(worker("static"));
  await assert.rejects(pm.start(), /cluster: this runtime adapter cannot connect to a database/);
  assert.equal(runtime.spawned.length, 0);
  assert.equal(pm.backgroundWorkers().length, 1, "what was registered before is kept");
  (runtime as FakeRuntime & { connectDatabase: unknown }).connectDatabase = () =>
    Promise.reject(new Error("connect ECONNREFUSED"));
  await assert.rejects(pm.start(), (error: unknown) => {
    assert.match(
      String(error),
      /cluster "default": could not join at postgres:\/\/u:\*\*\*@db\/app: connect ECONNREFUSED/,
    );
    return true;
  });
});

test("cluster host: a placement reaches its host by value, reports come back, and stop() hands the worker on", {
  skip,
}, async (t) => {
  const name = `unit-${Math.random().toString(36).slice(2, 10)}`;
  const admin = await connectDatabase(REAL_URL!, { applicationName: "cluster unit admin" });
  t.after(async () => {
    await admin.query("delete from bgworker_cluster.clusters where name = $1", [name]).catch(() => {});
    await admin.close();
  });
  const { pm, runtime } = fakePostmaster({
    maxWorkerProcesses: 3,
    cluster: { url: REAL_URL!, name, hostId: "unit-host", leaseMs: 60_000 },
  });
  (runtime as FakeRuntime & { connectDatabase: unknown }).connectDatabase = (url: string, app: string) =>
    connectDatabase(url, { applicationName: app });
  pm.registerBackgroundWorker(worker("local static")); // a local worker: the host offers one slot fewer
  await pm.start();
  t.after(async () => {
    // Fake processes exit only when told: a test that failed half-way must not leave the stop waiting for them.
    const stopped = pm.stop("immediate");
    for (const process of runtime.live) process.exit(null, "SIGQUIT");
    await stopped;
  });
  const [host] = await pm.clusterHosts();
  assert.deepEqual([host!.hostId, host!.maxWorkers, host!.workers], ["unit-host", 2, 0], "3 slots less the local one");
  const entry = worker("placed", { bgw_start_time: 2, bgw_restart_time: 5, bgw_main_arg: 41n, bgw_notify_pid: pm.pid });
  const handle = (await pm.registerClusterWorker(entry, { env: { QUEUE: "q1" } }))!;
  assert.deepEqual(Object.keys(handle).sort(), ["cluster", "generation", "slot"]);
  assert.equal((await pm.getClusterWorkerPid(handle)).status, BGWH_NOT_YET_STARTED);
  // Placed here, the host starts it at once (no poll to wait for): its start message carries the placement.
  const child = await pollUntil(
    "the placed worker spawned",
    10_000,
    () => runtime.spawned.find((p) => p.entryName === "placed"),
  );
  const start = child.start!;
  assert.deepEqual(start.cluster, {
    cluster: name,
    slot: handle.slot,
    generation: handle.generation,
    fence: start.cluster!.fence,
    hostId: "unit-host",
  });
  assert.ok(BigInt(start.cluster!.fence) > 0n);
  assert.equal(JSON.parse(start.entry).bgw_notify_pid, 0, "the cluster's copy notifies no pid of another host");
  assert.equal(child.options.env?.QUEUE, "q1", "the worker options travel with the entry");
  child.reportStarted();
  const started = await pollUntil("started reported", 10_000, async () => {
    const status = await pm.getClusterWorkerPid(handle);
    return status.status === BGWH_STARTED ? status : undefined;
  });
  assert.deepEqual(started, { status: BGWH_STARTED, pid: child.pid, hostId: "unit-host" });
  assert.deepEqual(await pm.waitForClusterWorkerStartup(handle), started);
  const [host2] = await pm.clusterHosts();
  assert.equal(host2!.workers, 1);
  // A crash exit (code 1): restarted here after its interval, and the cluster hears it is waiting.
  child.exit(1);
  await pollUntil("waiting reported", 10_000, async () => {
    const [row] = await admin.query(
      "select state, exit_code from bgworker_cluster.workers where cluster = $1 and slot = $2",
      [name, handle.slot],
    );
    return row!.state === "waiting" && row!.exit_code === 1 ? true : undefined;
  });
  runtime.advance(5000);
  const again = await pollUntil(
    "restarted",
    10_000,
    () => runtime.count("placed") === 2 ? runtime.last("placed") : undefined,
  );
  again.reportStarted();
  await pollUntil(
    "started again",
    10_000,
    async () => (await pm.getClusterWorkerPid(handle)).pid === again.pid || undefined,
  );
  // stop(): no exit is reported as final; leaving hands the restartable worker to the cluster to place again.
  const stopping = pm.stop("fast");
  assert.deepEqual(again.signals, ["SIGTERM"]);
  for (const process of runtime.live) process.exit(null, "SIGTERM"); // the cluster worker and the local one
  await stopping;
  const [row] = await admin.query(
    "select state, host_id from bgworker_cluster.workers where cluster = $1 and slot = $2",
    [name, handle.slot],
  );
  assert.deepEqual([row!.state, row!.host_id], ["waiting", null], "released, not stopped");
  const [left] = await admin.query("select state from bgworker_cluster.hosts where cluster = $1", [name]);
  assert.equal(left!.state, "left");
  assert.equal(await pm.waitForClusterWorkerShutdown(handle), BGWH_POSTMASTER_DIED, "once this postmaster stopped");
});

test("cluster host room: offered slots are the host's own less its local workers'", () => {
  // One local worker, one cluster worker and one failed local worker (its slot counts as free) on a host of four.
  const table = {
    size: 4,
    inUse: () => [{ cluster: null, phase: "registered" }, { cluster: {}, phase: "running" }, {
      cluster: null,
      phase: "failed",
    }],
  };
  const assignments = new ClusterAssignments({ table } as never, {
    store: () => null,
    lease: () => null,
    marginMs: () => 0,
  });
  assert.equal(assignments.offeredSlots(), 3);
  const host = new ClusterHost({ options: { cluster: null }, listeners: { on: () => () => {} } } as never);
  assert.equal(host.enabled, false);
  assert.throws(() => host.store(), /no cluster option/);
});
