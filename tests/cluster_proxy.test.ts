// The pausable proxy (tests/helpers/pausable_proxy.ts) between a client and
// the real server: while paused, requests and answers are held, not
// refused, and delivered on resume; and a host cut off through it stops
// holding its workers (src/cluster/fencing.ts) before its lease ends on the
// server, then learns on resume that it was declared dead. Every wait is on
// an event or a condition, bounded.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { connectDatabase } from "../runtimes/shared/database_client.ts";
import {
  clusterStore,
  failover,
  joinCluster,
  lapsedHosts,
  LeaseFence,
  liveHosts,
  migrateClusterSchema,
  renewLease,
} from "../src/cluster/mod.ts";
import type { DatabaseClient } from "../src/worker/port.ts";
import { REAL_URL } from "./helpers/clusters.ts";
import { type PausableProxy, startPausableProxy } from "./helpers/pausable_proxy.ts";

const skip = REAL_URL ? false : "no real server: npm test starts one and sets BGWORKER_TEST_POSTGRES_URL";

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `condition` every 10 ms until it holds, failing after `ms`. */
async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A proxy to the real server, a client through it and a direct admin
 * client; all closed after the test, after the `cleanups` the test adds
 * (one hook, so the order does not depend on the runner's order of hooks).
 */
async function proxied(t: TestContext): Promise<
  { proxy: PausableProxy; client: DatabaseClient; admin: DatabaseClient; cleanups: (() => Promise<unknown>)[] }
> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const target = new URL(REAL_URL!);
  const proxy = await startPausableProxy(target.hostname, Number(target.port));
  const admin = await connectDatabase(REAL_URL!, { applicationName: "proxy test admin" });
  const client = await connectDatabase(proxy.url(REAL_URL!), { applicationName: "proxy test client" });
  t.after(async () => {
    proxy.resume();
    try {
      for (const cleanup of cleanups) await cleanup();
    } finally {
      await Promise.allSettled([client.close(), admin.close()]);
      await proxy.close();
    }
  });
  return { proxy, client, admin, cleanups };
}

/** Track whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  return { promise, settled: () => settled };
}

test(
  "pausable proxy: a query sent while paused does not reach the server until resume, then completes",
  { skip },
  async (t) => {
    const { proxy, client, admin } = await proxied(t);
    const [{ pid }] = (await client.query("select pg_backend_pid() as pid")) as [{ pid: number }];
    proxy.pause();
    const query = watch(client.query("select 42 as n, 'held' as marker"));
    await within(proxy.untilHeld("toServer"), 5_000, "the query's bytes held by the proxy");
    const [seen] = await admin.query("select state, query from pg_stat_activity where pid = $1", [pid]);
    assert.equal(seen?.state, "idle");
    assert.doesNotMatch(String(seen?.query), /held/, "the server never saw the query");
    assert.equal(query.settled(), false, "the client is waiting, not failed");
    proxy.resume();
    assert.deepEqual(await within(query.promise, 5_000, "the query after resume"), [{ n: 42, marker: "held" }]);
  },
);

test("pausable proxy: an answer produced while paused is held until resume", { skip }, async (t) => {
  const { proxy, client, admin } = await proxied(t);
  const [{ pid }] = (await client.query("select pg_backend_pid() as pid")) as [{ pid: number }];
  const key = Math.floor(Math.random() * 1e9);
  await admin.query("select pg_advisory_lock($1)", [key]);
  const query = watch(client.query("select pg_advisory_lock($1::bigint)::text as locked, 7 as n", [key]));
  await until(
    async () => {
      const [row] = await admin.query("select wait_event_type from pg_stat_activity where pid = $1", [pid]);
      return row?.wait_event_type === "Lock";
    },
    5_000,
    "the proxied query waiting on the lock in the server",
  );
  proxy.pause();
  const before = proxy.held().toClient;
  await admin.query("select pg_advisory_unlock($1)", [key]);
  await within(proxy.untilHeld("toClient", before + 1), 5_000, "the answer's bytes held by the proxy");
  assert.equal(query.settled(), false);
  proxy.resume();
  assert.deepEqual(await within(query.promise, 5_000, "the answer after resume"), [{ locked: "", n: 7 }]);
  await client.query("select pg_advisory_unlock($1::bigint)", [key]);
});

test("pausable proxy: a connection opened while paused reaches the server on resume", { skip }, async (t) => {
  const { proxy } = await proxied(t);
  proxy.pause();
  const before = proxy.held().toServer;
  const connecting = watch(connectDatabase(proxy.url(REAL_URL!), { applicationName: "late" }));
  await within(proxy.untilHeld("toServer", before + 1), 5_000, "the startup message held by the proxy");
  assert.equal(connecting.settled(), false);
  proxy.resume();
  const late = await within(connecting.promise, 5_000, "the connection after resume");
  try {
    assert.deepEqual(await late.query("select 1 as one"), [{ one: 1 }]);
  } finally {
    await late.close();
  }
});

test(
  "cluster fencing through the proxy: a host cut off stops holding its workers before its lease ends, then learns it was declared dead",
  {
    skip,
  },
  async (t) => {
    const { proxy, client, admin, cleanups } = await proxied(t);
    await migrateClusterSchema(admin);
    const name = `cutoff-${Math.random().toString(36).slice(2, 10)}`;
    cleanups.push(() => admin.query("delete from bgworker_cluster.clusters where name = $1", [name]));
    const host = clusterStore(client, name);
    const observer = clusterStore(admin, name);
    const leaseMs = 1_500;
    const fence = new LeaseFence(() => performance.now(), { leaseMs, marginMs: 300 });
    const sentJoin = fence.sending();
    const lease = await joinCluster(host, { hostId: "cut-off", maxWorkers: 1, leaseMs });
    fence.renewed(sentJoin);
    const sentRenewal = fence.sending();
    assert.deepEqual(await renewLease(host, lease), { ok: true });
    fence.renewed(sentRenewal);

    proxy.pause();
    const renewal = watch(renewLease(host, lease));
    // The host's own timer: it stops its workers when its fence ends, on its own clock.
    await within(new Promise((resolve) => setTimeout(resolve, Math.max(0, fence.msLeft()))), 5_000, "the fence's end");
    await until(() => Promise.resolve(!fence.holds()), 1_000, "the fence to end");
    const [live] = await liveHosts(observer);
    assert.equal(live?.hostId, "cut-off", "when the host stops its workers, the server still counts its lease");
    assert.ok(live!.leaseLeftMs > 0, `lease left on the server: ${live!.leaseLeftMs} ms`);
    console.log(
      `# cut-off host: fence ended with ${
        live!.leaseLeftMs.toFixed(0)
      } ms of its ${leaseMs} ms lease left on the server`,
    );
    assert.equal(renewal.settled(), false, "the renewal hangs rather than failing");

    await until(async () => (await lapsedHosts(observer)).length === 1, 5_000, "the lease to lapse on the server");
    assert.deepEqual((await failover(observer)).deadHosts, ["cut-off"]);
    proxy.resume();
    assert.deepEqual(await within(renewal.promise, 5_000, "the held renewal"), { ok: false, reason: "dead" });
  },
);
