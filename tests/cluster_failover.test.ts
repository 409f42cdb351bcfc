// Failover (src/cluster/failover.ts) on the real server: a host whose lease
// lapsed is declared dead; its restartable workers move to live hosts with a
// higher fence, not before their restart time; BGW_NEVER_RESTART ones and
// those asked to terminate are stopped; a worker with no free host waits
// until one frees up; the old host's reports are refused; passes run at once
// from several hosts do the work once. Also the spreading policy, without a database.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { spreadOverHosts } from "../src/cluster/failover.ts";
import {
  type ClusterStore,
  failover,
  getClusterWorkerStatus,
  hostAssignments,
  type HostLease,
  joinCluster,
  placeWorker,
  reportClusterWorker,
  requestClusterWorkerTermination,
} from "../src/cluster/mod.ts";
import { BGW_NEVER_RESTART, BGWH_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import type { DatabaseClient } from "../src/worker/port.ts";
import { clusterEntry, freshCluster, SKIP_WITHOUT_SERVER } from "./helpers/cluster_db.ts";

const skip = SKIP_WITHOUT_SERVER;

/** A fresh cluster, `n` connections to it (index 0 is also the admin's), cleaned up after the test. */
async function cluster(t: TestContext, n = 1): Promise<{ stores: ClusterStore[]; admin: DatabaseClient }> {
  return await freshCluster(t, "failover", Array.from({ length: n }, (_, i) => String(i)));
}

/** End a host's lease now on the server's clock; resolves with that time, as text. */
async function lapse(admin: DatabaseClient, store: ClusterStore, hostId: string): Promise<string> {
  const [row] = await admin.query(
    `update bgworker_cluster.hosts set lease_until = clock_timestamp() - interval '1 millisecond'
      where cluster = $1 and host_id = $2 returning lease_until::text as at`,
    [store.name, hostId],
  );
  return row!.at as string;
}

const entry = clusterEntry;

/** Place a worker (on the only host with room) and report it started there. */
async function running(store: ClusterStore, lease: HostLease, name: string, restart: number, pid: number) {
  const placed = (await placeWorker(store, entry(name, restart)))!;
  assert.equal(placed.hostId, lease.hostId);
  assert.equal(await reportClusterWorker(store, lease, placed, { state: "started", pid }), true);
  return placed;
}

test(
  "cluster failover: a lapsed host's restartable workers move to live hosts with higher fences, never-restart ones stop",
  {
    skip,
  },
  async (t) => {
    const { stores: [store], admin } = await cluster(t);
    const a = await joinCluster(store!, { hostId: "a", maxWorkers: 4, leaseMs: 60_000 });
    const quick1 = await running(store!, a, "quick 1", 0, 101);
    const quick2 = await running(store!, a, "quick 2", 0, 102);
    const once = await running(store!, a, "once", BGW_NEVER_RESTART, 103);
    const slow = await running(store!, a, "slow", 1, 104);
    const b = await joinCluster(store!, { hostId: "b", maxWorkers: 2, leaseMs: 60_000 });
    const c = await joinCluster(store!, { hostId: "c", maxWorkers: 1, leaseMs: 60_000 });
    assert.deepEqual(await failover(store!), { deadHosts: [], stopped: [], released: [], assigned: [], waiting: 0 });

    const lapsedAt = await lapse(admin, store!, "a");
    const report = await failover(store!);
    assert.deepEqual(report.deadHosts, ["a"]);
    assert.deepEqual(report.stopped, [once.handle]);
    assert.deepEqual(report.released, [quick1.handle, quick2.handle, slow.handle]);
    assert.deepEqual(report.assigned.map((m) => m.handle), [quick1.handle, quick2.handle], "the slow one waits 1 s");
    assert.equal(report.waiting, 1);
    const lastFence = slow.fence;
    for (const moved of report.assigned) {
      assert.ok(moved.fence > lastFence, "a move's fence is above every fence given before");
      assert.notEqual(moved.hostId, "a");
    }
    assert.equal((await getClusterWorkerStatus(store!, once.handle)).status, BGWH_STOPPED);
    assert.deepEqual(await getClusterWorkerStatus(store!, slow.handle), {
      status: BGWH_STOPPED,
      pid: null,
      hostId: null,
    });
    // The dead host's word no longer counts: its fences are old.
    assert.equal(await reportClusterWorker(store!, a, quick1, { state: "stopped", exitCode: 0 }), false);
    assert.equal(await reportClusterWorker(store!, a, once, { state: "stopped", exitCode: 0 }), false);

    // The new hosts see their workers with the new fences, and start them.
    for (const lease of [b, c]) {
      for (const mine of (await hostAssignments(store!, lease))!) {
        const moved = report.assigned.find((m) => m.handle.slot === mine.handle.slot)!;
        assert.equal(mine.fence, moved.fence);
        assert.equal(
          await reportClusterWorker(store!, lease, mine, { state: "started", pid: 200 + mine.handle.slot }),
          true,
        );
      }
    }
    assert.equal((await getClusterWorkerStatus(store!, quick1.handle)).status, BGWH_STARTED);

    // The slow one is assigned by a later pass, not before its lease end plus bgw_restart_time (1 s), server's clock.
    const deadline = Date.now() + 10_000;
    let later = await failover(store!);
    while (later.assigned.length === 0) {
      assert.ok(Date.now() < deadline, "the waiting worker was not assigned within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
      later = await failover(store!);
    }
    assert.deepEqual(later.assigned.map((m) => [m.handle, m.hostId]), [[slow.handle, "c"]]);
    assert.ok(later.assigned[0]!.fence > report.assigned.at(-1)!.fence);
    const [row] = await admin.query(
      `select changed_at >= $3::timestamptz + interval '1 second' as waited
       from bgworker_cluster.workers where cluster = $1 and slot = $2`,
      [store!.name, slow.handle.slot, lapsedAt],
    );
    assert.equal(row?.waited, true);
  },
);

test("cluster failover: a worker with no free host waits unassigned until a slot frees up", { skip }, async (t) => {
  const { stores: [store], admin } = await cluster(t);
  const b = await joinCluster(store!, { hostId: "b", maxWorkers: 1, leaseMs: 60_000 });
  const busy = await running(store!, b, "busy", 0, 301);
  const a = await joinCluster(store!, { hostId: "a", maxWorkers: 1, leaseMs: 60_000 });
  const orphan = await running(store!, a, "orphan", 0, 302);
  await lapse(admin, store!, "a");
  const first = await failover(store!);
  assert.deepEqual(first.released, [orphan.handle]);
  assert.deepEqual(first.assigned, []);
  assert.equal(first.waiting, 1);
  assert.deepEqual(await failover(store!), { deadHosts: [], stopped: [], released: [], assigned: [], waiting: 1 });
  assert.equal(await reportClusterWorker(store!, b, busy, { state: "stopped", exitCode: 0 }), true);
  const second = await failover(store!);
  assert.deepEqual(second.assigned.map((m) => [m.handle, m.hostId]), [[orphan.handle, "b"]]);
  assert.equal(second.waiting, 0);
  // And a host that joins takes waiting workers at once.
  const c = await joinCluster(store!, { hostId: "c", maxWorkers: 1, leaseMs: 60_000 });
  await lapse(admin, store!, "b");
  const third = await failover(store!);
  assert.deepEqual(third.assigned.map((m) => [m.handle, m.hostId]), [[orphan.handle, "c"]]);
  assert.equal((await hostAssignments(store!, c))![0]!.fence, third.assigned[0]!.fence);
});

test(
  "cluster failover: workers asked to terminate are stopped, not moved; a waiting one stops at once",
  { skip },
  async (t) => {
    const { stores: [store], admin } = await cluster(t);
    const a = await joinCluster(store!, { hostId: "a", maxWorkers: 3, leaseMs: 60_000 });
    const doomed = await running(store!, a, "doomed", 0, 401);
    const waiter = await running(store!, a, "waiter", 0, 402);
    assert.equal(await requestClusterWorkerTermination(store!, doomed.handle), true);
    await lapse(admin, store!, "a");
    const report = await failover(store!);
    assert.deepEqual(report.stopped, [doomed.handle]);
    assert.deepEqual(report.released, [waiter.handle]);
    assert.equal(report.waiting, 1, "no live host");
    assert.equal(await requestClusterWorkerTermination(store!, waiter.handle), true);
    assert.equal(await requestClusterWorkerTermination(store!, waiter.handle), false, "already stopped");
    assert.equal((await failover(store!)).waiting, 0);
    await joinCluster(store!, { hostId: "b", maxWorkers: 3, leaseMs: 60_000 });
    assert.deepEqual((await failover(store!)).assigned, [], "a terminated worker is never started again");
  },
);

test("cluster failover: passes run from three hosts at once declare each dead host once and move each worker once", {
  skip,
}, async (t) => {
  const { stores, admin } = await cluster(t, 3);
  const store = stores[0]!;
  const a = await joinCluster(store, { hostId: "a", maxWorkers: 6, leaseMs: 60_000 });
  const workers = [];
  for (let i = 0; i < 6; i++) workers.push(await running(store, a, `w${i}`, 0, 500 + i));
  await joinCluster(store, { hostId: "b", maxWorkers: 3, leaseMs: 60_000 });
  await joinCluster(store, { hostId: "c", maxWorkers: 3, leaseMs: 60_000 });
  await lapse(admin, store, "a");
  const started = performance.now();
  const reports = await Promise.all(stores.map((s) => failover(s)));
  console.log(
    `# failover: 3 concurrent passes, 1 dead host, 6 workers moved: ${(performance.now() - started).toFixed(1)} ms`,
  );
  assert.deepEqual(reports.flatMap((r) => r.deadHosts), ["a"]);
  const moved = reports.flatMap((r) => r.assigned);
  assert.deepEqual(moved.map((m) => m.handle.slot).sort(), workers.map((w) => w.handle.slot).sort());
  assert.equal(new Set(moved.map((m) => m.fence)).size, 6);
  assert.deepEqual(["b", "c"].map((h) => moved.filter((m) => m.hostId === h).length), [3, 3]);
});

test("cluster failover: waiting workers go, in order, to the host with the most free slots (ties: smallest id)", () => {
  const w = (slot: number) => ({ slot, generation: 1 });
  assert.deepEqual(
    spreadOverHosts([w(0), w(1), w(2), w(3)], [{ hostId: "b", free: 1 }, { hostId: "a", free: 2 }, {
      hostId: "c",
      free: 0,
    }])
      .map((p) => [p.slot, p.hostId]),
    [[0, "a"], [1, "a"], [2, "b"]],
  );
  assert.deepEqual(spreadOverHosts([w(0)], []), []);
  const hosts = [{ hostId: "a", free: 1 }];
  spreadOverHosts([w(0)], hosts);
  assert.equal(hosts[0]!.free, 1, "the caller's hosts are not changed");
});
