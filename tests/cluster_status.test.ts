// Cluster worker status (src/cluster/status.ts) on the real server: what a
// host reports and what any host reads back, terminate requests carried out
// by the owning host, stale fences and fenced hosts refused.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { type ClusterStore, joinCluster, liveHosts, placeWorker } from "../src/cluster/mod.ts";
import {
  getClusterWorkerStatus,
  hostAssignments,
  reportClusterWorker,
  requestClusterWorkerTermination,
} from "../src/cluster/status.ts";
import { BGWH_NOT_YET_STARTED, BGWH_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import { clusterEntry, freshCluster, SKIP_WITHOUT_SERVER } from "./helpers/cluster_db.ts";

const skip = SKIP_WITHOUT_SERVER;

/** A fresh cluster with hosts a (2 slots) and b (0 slots, so everything lands on a), each on its own connection. */
async function twoHosts(t: TestContext) {
  const { stores, admin } = await freshCluster(t, "status", ["a", "b"]);
  const [onA, onB] = stores as [ClusterStore, ClusterStore];
  const a = await joinCluster(onA, { hostId: "a", maxWorkers: 2, leaseMs: 60_000 });
  const b = await joinCluster(onB, { hostId: "b", maxWorkers: 0, leaseMs: 60_000 });
  return { onA, onB, a, b, admin };
}

const entry = clusterEntry("status", 5);

test("cluster status: not yet started, started with its pid, waiting for a local restart, started again, stopped", {
  skip,
}, async (t) => {
  const { onA, onB, a } = await twoHosts(t);
  const placed = (await placeWorker(onB, entry))!;
  assert.equal(placed.hostId, "a");
  const status = () => getClusterWorkerStatus(onB, placed.handle);
  assert.deepEqual(await status(), { status: BGWH_NOT_YET_STARTED, pid: null, hostId: "a" });
  assert.equal(await reportClusterWorker(onA, a, placed, { state: "started", pid: 4242 }), true);
  assert.deepEqual(await status(), { status: BGWH_STARTED, pid: 4242, hostId: "a" });
  assert.equal((await hostAssignments(onA, a))![0]!.state, "started");
  assert.equal(await reportClusterWorker(onA, a, placed, { state: "waiting", exitCode: 1 }), true);
  assert.deepEqual(await status(), { status: BGWH_STOPPED, pid: null, hostId: "a" });
  assert.deepEqual(
    (await liveHosts(onA)).find((h) => h.hostId === "a")?.workers,
    1,
    "a worker waiting to restart keeps its slot",
  );
  assert.equal(await reportClusterWorker(onA, a, placed, { state: "started", pid: 4243 }), true);
  assert.deepEqual(await status(), { status: BGWH_STARTED, pid: 4243, hostId: "a" });
  assert.equal(await reportClusterWorker(onA, a, placed, { state: "stopped", exitCode: 0 }), true);
  assert.deepEqual(await status(), { status: BGWH_STOPPED, pid: null, hostId: "a" });
  assert.deepEqual(await hostAssignments(onA, a), [], "its slot is free");
  assert.equal(await reportClusterWorker(onA, a, placed, { state: "started", pid: 1 }), false, "stopped is final");
});

test(
  "cluster status: a terminate request from another host reaches the owning host, which stops the worker",
  { skip },
  async (t) => {
    const { onA, onB, a } = await twoHosts(t);
    const placed = (await placeWorker(onA, entry))!;
    await reportClusterWorker(onA, a, placed, { state: "started", pid: 77 });
    assert.equal(await requestClusterWorkerTermination(onB, placed.handle), true);
    const [mine] = (await hostAssignments(onA, a))!;
    assert.equal(mine!.terminate, true);
    assert.equal(
      (await getClusterWorkerStatus(onB, placed.handle)).status,
      BGWH_STARTED,
      "running until its host acts",
    );
    assert.equal(await reportClusterWorker(onA, a, mine!, { state: "stopped", exitCode: 1 }), true);
    assert.equal((await getClusterWorkerStatus(onB, placed.handle)).status, BGWH_STOPPED);
    assert.equal(await requestClusterWorkerTermination(onB, placed.handle), false, "safe on a stale handle");
    assert.equal(
      await requestClusterWorkerTermination(onB, { ...placed.handle, generation: 99 }),
      false,
      "or on one that never was",
    );
  },
);

test(
  "cluster status: a report under another fence is refused; a fenced host cannot claim a start",
  { skip },
  async (t) => {
    const { onA, onB, a, b, admin } = await twoHosts(t);
    const placed = (await placeWorker(onA, entry))!;
    assert.equal(
      await reportClusterWorker(onA, a, { ...placed, fence: placed.fence - 1n }, { state: "started", pid: 5 }),
      false,
    );
    assert.equal(await reportClusterWorker(onB, b, placed, { state: "started", pid: 5 }), false, "not b's worker");
    await assert.rejects(
      reportClusterWorker(onA, a, placed, { state: "started", pid: 0 }),
      /pid must be a positive integer; got 0/,
    );
    assert.equal(await reportClusterWorker(onA, a, placed, { state: "started", pid: 5 }), true);
    await admin.query(
      "update bgworker_cluster.hosts set lease_until = clock_timestamp() - interval '1 millisecond' where cluster = $1 and host_id = 'a'",
      [onA.name],
    );
    assert.deepEqual(
      await getClusterWorkerStatus(onB, placed.handle),
      { status: BGWH_STOPPED, pid: null, hostId: "a" },
      "a worker of a host whose lease lapsed reads stopped: that host has fenced itself",
    );
    assert.equal(
      await reportClusterWorker(onA, a, placed, { state: "waiting", exitCode: 1 }),
      true,
      "exits are still true",
    );
    assert.equal(
      await reportClusterWorker(onA, a, placed, { state: "started", pid: 6 }),
      false,
      "but a lapsed host starts nothing",
    );
  },
);
