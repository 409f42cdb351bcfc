// Placement (src/cluster/placement.ts) on the real server: three hosts, each
// on its own connection, making 1,000 placement attempts at once never
// exceed a host's cap nor the cluster's, and every success has its own slot
// and fence; the entry travels by value; a freed slot is reused with a
// higher generation. Also measures one placement's latency.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  type ClusterStore,
  clusterStore,
  getClusterWorkerStatus,
  hostAssignments,
  joinCluster,
  liveHosts,
  reportClusterWorker,
} from "../src/cluster/mod.ts";
import { type ClusterPlacement, placeWorker } from "../src/cluster/placement.ts";
import { BGWH_NOT_YET_STARTED, BGWH_STOPPED } from "../src/constants.ts";
import { decodeWorkerEntry } from "../src/worker_entry.ts";
import type { DatabaseClient } from "../src/worker/port.ts";
import { clusterEntry, freshCluster, SKIP_WITHOUT_SERVER } from "./helpers/cluster_db.ts";

const skip = SKIP_WITHOUT_SERVER;
const HOSTS = [{ hostId: "a", maxWorkers: 40 }, { hostId: "b", maxWorkers: 25 }, { hostId: "c", maxWorkers: 35 }];

/** A fresh cluster with three hosts joined, each through a connection of its own. */
async function threeHosts(t: TestContext) {
  const { stores, admin } = await freshCluster(t, "place", HOSTS.map((h) => h.hostId));
  const leases = await Promise.all(
    HOSTS.map((h, i) => joinCluster(stores[i]!, { ...h, leaseMs: 60_000 })),
  );
  return { stores, leases, admin };
}

const entry = (i: number) =>
  clusterEntry(`worker ${i}`, 5, {
    bgw_main_arg: BigInt(i) * 1_000_000_000_000n,
    bgw_extra: new Uint8Array([i & 255, 0, 255]),
  });

/** `attempts` placements, spread round-robin over the hosts' connections, `batch` in flight at a time. */
async function attempt(stores: ClusterStore[], attempts: number, maxWorkers?: number) {
  const results: (ClusterPlacement | null)[] = [];
  const batch = 60;
  for (let start = 0; start < attempts; start += batch) {
    const n = Math.min(batch, attempts - start);
    results.push(
      ...await Promise.all(
        Array.from(
          { length: n },
          (_, k) => placeWorker(stores[(start + k) % stores.length]!, entry(start + k), { maxWorkers }),
        ),
      ),
    );
  }
  return results;
}

/** The invariants, read back from the database: caps, and one slot and one fence per success. */
async function check(admin: DatabaseClient, store: ClusterStore, placed: ClusterPlacement[], clusterCap?: number) {
  const slots = new Set(placed.map((p) => p.handle.slot));
  const fences = new Set(placed.map((p) => p.fence));
  assert.equal(slots.size, placed.length, "every success has its own slot");
  assert.equal(fences.size, placed.length, "every success has its own fence");
  const perHost = await admin.query(
    "select host_id, count(*)::int as n from bgworker_cluster.workers where cluster = $1 and state <> 'stopped' group by host_id order by host_id",
    [store.name],
  );
  for (const row of perHost) {
    const cap = HOSTS.find((h) => h.hostId === row.host_id)!.maxWorkers;
    assert.ok((row.n as number) <= cap, `host ${row.host_id} has ${row.n} workers, over its cap of ${cap}`);
    assert.equal(row.n, placed.filter((p) => p.hostId === row.host_id).length, "each placement's host is its row's");
  }
  const total = perHost.reduce((n, r) => n + (r.n as number), 0);
  assert.equal(total, placed.length);
  if (clusterCap !== undefined) assert.ok(total <= clusterCap);
}

test("cluster placement: 1,000 attempts from three hosts at once fill every host exactly to its cap, no further", {
  skip,
}, async (t) => {
  const { stores, admin } = await threeHosts(t);
  const started = performance.now();
  const results = await attempt(stores, 1_000);
  console.log(`# 1,000 placement attempts from 3 hosts: ${(performance.now() - started).toFixed(0)} ms`);
  const placed = results.filter((r): r is ClusterPlacement => r !== null);
  const capacity = HOSTS.reduce((n, h) => n + h.maxWorkers, 0);
  assert.equal(placed.length, capacity, "every free slot was used, and no more");
  assert.equal(results.length - placed.length, 1_000 - capacity, "the rest were refused with null");
  await check(admin, stores[0]!, placed);
  assert.deepEqual((await liveHosts(stores[0]!)).map((h) => h.workers), HOSTS.map((h) => h.maxWorkers));
});

test(
  "cluster placement: 1,000 attempts from three hosts at once never exceed the cluster's cap of 70",
  { skip },
  async (t) => {
    const { stores, admin } = await threeHosts(t);
    const placed = (await attempt(stores, 1_000, 70)).filter((r): r is ClusterPlacement => r !== null);
    assert.equal(placed.length, 70);
    await check(admin, stores[0]!, placed, 70);
    // Spread by free slots: no host was filled while another had more room.
    const counts = HOSTS.map((h) => placed.filter((p) => p.hostId === h.hostId).length);
    assert.ok(counts.every((n, i) => n < HOSTS[i]!.maxWorkers), JSON.stringify(counts));
  },
);

test("cluster placement: attempts interleaved with exits keep the caps, reuse freed slots with a higher generation", {
  skip,
}, async (t) => {
  const { stores, leases, admin } = await threeHosts(t);
  const seen = new Set<string>();
  const fences = new Set<bigint>();
  let live: ClusterPlacement[] = [];
  for (let round = 0; round < 10; round++) {
    const placed = (await attempt(stores, 100)).filter((r): r is ClusterPlacement => r !== null);
    for (const p of placed) {
      const key = `${p.handle.slot}/${p.handle.generation}`;
      assert.ok(!seen.has(key), `handle ${key} given twice`);
      assert.ok(!fences.has(p.fence), `fence ${p.fence} given twice`);
      seen.add(key);
      fences.add(p.fence);
    }
    live.push(...placed);
    await check(admin, stores[0]!, live);
    // A third of the workers exit for good, each reported by its own host.
    const leaving = live.filter((_, i) => i % 3 === round % 3);
    await Promise.all(leaving.map((p) => {
      const host = HOSTS.findIndex((h) => h.hostId === p.hostId);
      return reportClusterWorker(stores[host]!, leases[host]!, p, { state: "stopped", exitCode: 0 });
    }));
    live = live.filter((p) => !leaving.includes(p));
  }
  const reused = [...seen].filter((k) => !k.endsWith("/1"));
  assert.ok(reused.length > 0, "freed slots were reused");
  const maxSlot = Math.max(...[...seen].map((k) => Number(k.split("/")[0])));
  assert.ok(maxSlot < 100, `slots stay within the cluster's capacity; got ${maxSlot}`);
});

test(
  "cluster placement: the entry reaches its host by value, and a reused slot's old handle reads stopped",
  { skip },
  async (t) => {
    const { stores, leases } = await threeHosts(t);
    const placed = (await placeWorker(stores[1]!, entry(7)))!;
    assert.equal(placed.hostId, "a", "the host with the most free slots");
    assert.deepEqual(await getClusterWorkerStatus(stores[2]!, placed.handle), {
      status: BGWH_NOT_YET_STARTED,
      pid: null,
      hostId: "a",
    });
    const [mine] = (await hostAssignments(stores[0]!, leases[0]!))!;
    assert.deepEqual(mine!.handle, placed.handle);
    assert.equal(mine!.fence, placed.fence);
    assert.deepEqual(decodeWorkerEntry(mine!.entry), entry(7));
    assert.equal(await reportClusterWorker(stores[0]!, leases[0]!, mine!, { state: "stopped", exitCode: 0 }), true);
    const next = (await placeWorker(stores[0]!, entry(8)))!;
    assert.deepEqual(next.handle, { ...placed.handle, generation: placed.handle.generation + 1 });
    assert.ok(next.fence > placed.fence);
    assert.deepEqual(await getClusterWorkerStatus(stores[0]!, placed.handle), {
      status: BGWH_STOPPED,
      pid: null,
      hostId: null,
    });
  },
);

test(
  "cluster placement: no host, no slot; a cluster nobody joined places nothing; a bad cap is refused",
  { skip },
  async (t) => {
    const { stores } = await threeHosts(t);
    assert.equal(await placeWorker(stores[0]!, entry(1), { maxWorkers: 0 }), null);
    const nobody = clusterStore(stores[0]!.client, `empty-${Math.random()}`);
    assert.equal(await placeWorker(nobody, entry(1)), null);
    await assert.rejects(placeWorker(stores[0]!, entry(1), { maxWorkers: -1 }), /maxWorkers .*; got -1/);
  },
);

test("cluster placement: latency of one placement transaction (median of 100, one at a time)", { skip }, async (t) => {
  const { stores } = await threeHosts(t);
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const started = performance.now();
    const placed = await placeWorker(stores[i % 3]!, entry(i));
    times.push(performance.now() - started);
    assert.notEqual(placed, null);
  }
  times.sort((x, y) => x - y);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
  console.log(`# cluster placement latency: median ${at(0.5)} ms, p90 ${at(0.9)} ms over ${times.length} placements`);
});
