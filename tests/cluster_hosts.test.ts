// Hosts and leases (src/cluster/hosts.ts, store.ts) on the real server: join,
// renew, leave; live and lapsed hosts by the server's clock; a renewal after
// the lease lapsed or after the host was declared dead says so; a host id
// joining again replaces its old incarnation. Each test has a cluster of its own.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { joinCluster, lapsedHosts, leaveCluster, liveHosts, renewLease } from "../src/cluster/hosts.ts";
import {
  type ClusterStore,
  clusterStore,
  failover,
  getClusterWorkerStatus,
  hostAssignments,
  placeWorker,
} from "../src/cluster/mod.ts";
import { readBigint, readInt, readIntOrNull, readText, readTextOrNull } from "../src/cluster/store.ts";
import { BGWH_STOPPED } from "../src/constants.ts";
import type { DatabaseClient } from "../src/worker/port.ts";
import { clusterEntry, freshCluster, SKIP_WITHOUT_SERVER } from "./helpers/cluster_db.ts";

const skip = SKIP_WITHOUT_SERVER;

/** A fresh cluster on the default schema, its admin connection, cleaned up after the test. */
async function cluster(t: TestContext): Promise<{ store: ClusterStore; admin: DatabaseClient }> {
  const { stores, admin } = await freshCluster(t, "hosts", ["admin"]);
  return { store: stores[0]!, admin };
}

/** End a host's lease now, on the server's clock, as if it had not renewed in time. */
const lapse = (admin: DatabaseClient, store: ClusterStore, hostId: string) =>
  admin.query(
    "update bgworker_cluster.hosts set lease_until = clock_timestamp() - interval '1 millisecond' where cluster = $1 and host_id = $2",
    [store.name, hostId],
  );

const entry = (restart: number) => clusterEntry("leased", restart);

test("cluster hosts: join, renew and leave; live hosts are listed with their caps and workers", { skip }, async (t) => {
  const { store } = await cluster(t);
  const a = await joinCluster(store, { hostId: "a", maxWorkers: 2, leaseMs: 10_000 });
  const b = await joinCluster(store, { hostId: "b", maxWorkers: 3, leaseMs: 10_000 });
  assert.ok(b.incarnation > a.incarnation, "each join takes a new incarnation");
  await placeWorker(store, entry(5));
  const live = await liveHosts(store);
  assert.deepEqual(live.map((h) => [h.hostId, h.maxWorkers, h.workers]), [["a", 2, 0], ["b", 3, 1]]);
  assert.ok(live.every((h) => h.leaseLeftMs > 9_000 && h.leaseLeftMs <= 10_000), JSON.stringify(live));
  assert.deepEqual(await renewLease(store, a), { ok: true });
  assert.deepEqual(await lapsedHosts(store), []);
  assert.equal(await leaveCluster(store, a), true);
  assert.equal(await leaveCluster(store, a), false, "leaving twice does nothing");
  assert.deepEqual((await liveHosts(store)).map((h) => h.hostId), ["b"]);
  assert.deepEqual(await renewLease(store, a), { ok: false, reason: "left" });
  assert.deepEqual(
    await renewLease(store, { ...a, hostId: "nobody" }),
    { ok: false, reason: "unknown" },
  );
});

test(
  "cluster hosts: a lapsed lease cannot be renewed; once declared dead, the renewal says so",
  { skip },
  async (t) => {
    const { store, admin } = await cluster(t);
    const a = await joinCluster(store, { hostId: "a", maxWorkers: 1, leaseMs: 10_000 });
    await joinCluster(store, { hostId: "b", maxWorkers: 1, leaseMs: 10_000 });
    await lapse(admin, store, "a");
    assert.deepEqual((await lapsedHosts(store)).map((h) => h.hostId), ["a"]);
    assert.ok((await lapsedHosts(store))[0]!.leaseLeftMs < 0);
    assert.deepEqual((await liveHosts(store)).map((h) => h.hostId), ["b"]);
    assert.deepEqual(await renewLease(store, a), { ok: false, reason: "lapsed" });
    assert.deepEqual((await lapsedHosts(store)).map((h) => h.hostId), ["a"], "a refused renewal does not revive it");
    assert.equal(await hostAssignments(store, a), null, "a lapsed host is told it holds nothing");
    const report = await failover(store);
    assert.deepEqual(report.deadHosts, ["a"]);
    assert.deepEqual(await renewLease(store, a), { ok: false, reason: "dead" });
    assert.deepEqual(await lapsedHosts(store), []);
  },
);

test("cluster hosts: a lease lapses on the server's clock when it is not renewed", { skip }, async (t) => {
  const { store } = await cluster(t);
  const a = await joinCluster(store, { hostId: "a", maxWorkers: 1, leaseMs: 300 });
  assert.deepEqual(await renewLease(store, a), { ok: true });
  const deadline = Date.now() + 10_000;
  while ((await lapsedHosts(store)).length === 0) {
    assert.ok(Date.now() < deadline, "the 300 ms lease did not lapse within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.deepEqual(await renewLease(store, a), { ok: false, reason: "lapsed" });
});

test(
  "cluster hosts: the same host id joining again replaces the old incarnation, whose workers wait for its lease to end",
  {
    skip,
  },
  async (t) => {
    const { store, admin } = await cluster(t);
    const old = await joinCluster(store, { hostId: "pod-0", maxWorkers: 2, leaseMs: 10_000 });
    const placed = (await placeWorker(store, entry(0)))!;
    assert.equal(placed.hostId, "pod-0");
    const again = await joinCluster(store, { hostId: "pod-0", maxWorkers: 2, leaseMs: 10_000 });
    assert.ok(again.incarnation > old.incarnation);
    assert.deepEqual(await renewLease(store, old), { ok: false, reason: "replaced" });
    assert.equal(await hostAssignments(store, old), null);
    assert.deepEqual(await hostAssignments(store, again), [], "the old incarnation may still run it: not adopted");
    assert.deepEqual(await getClusterWorkerStatus(store, placed.handle), {
      status: BGWH_STOPPED,
      pid: null,
      hostId: null,
    });
    const [row] = await admin.query(
      `select state, not_before > clock_timestamp() + interval '9 seconds' as after_old_lease
       from bgworker_cluster.workers where cluster = $1 and slot = $2`,
      [store.name, placed.handle.slot],
    );
    assert.equal(row?.state, "waiting");
    assert.equal(row?.after_old_lease, true, "not before the old incarnation's lease ends");
  },
);

test("cluster hosts: bad join options and cluster names are refused, naming the value", async () => {
  const client = {} as DatabaseClient;
  const store = clusterStore(client, "c");
  assert.equal(store.schema, '"bgworker_cluster"');
  assert.throws(() => clusterStore(client, ""), {
    name: "TypeError",
    message: /cluster name must be a non-empty string; got ""/,
  });
  assert.throws(() => clusterStore(client, "c", ""), /cluster schema must be a non-empty string/);
  await assert.rejects(
    joinCluster(store, { hostId: "", maxWorkers: 1, leaseMs: 1 }),
    /hostId must be a non-empty string/,
  );
  await assert.rejects(joinCluster(store, { hostId: "a", maxWorkers: -1, leaseMs: 1 }), /maxWorkers .*; got -1/);
  await assert.rejects(joinCluster(store, { hostId: "a", maxWorkers: 1, leaseMs: 0.5 }), /leaseMs .*; got 0.5/);
});

test("cluster store: columns are read with their types checked, bigints never through a double", () => {
  assert.equal(readInt({ n: 3 }, "n"), 3);
  assert.throws(() => readInt({ n: "3" }, "n"), /column n is not an integer: 3/);
  assert.equal(readIntOrNull({ n: null }, "n"), null);
  assert.equal(readBigint({ f: "9007199254740993" }, "f"), 9007199254740993n);
  assert.throws(() => readBigint({ f: 9 }, "f"), /not a bigint as text/);
  assert.equal(readTextOrNull({ s: null }, "s"), null);
  assert.equal(readText({ s: "x" }, "s"), "x");
  assert.throws(() => readText({ s: null }, "s"), /column s is null/);
  assert.throws(() => readText({ s: 1 }, "s"), /column s is not text/);
});
