// Hosts of one cluster as separate postmaster processes on the real server:
// caps under registrations from three hosts at once, a handle used from
// another host, failover after kill -9 with never two copies of a worker at
// once (checked by the fence of every heartbeat the workers write), and a
// host cut off from the database stopping its workers before its lease ends.
import assert from "node:assert/strict";
import process from "node:process";
import { test, type TestContext } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../runtimes/shared/cli/run.ts";
import { memoryIo } from "../fixtures/cli_io.ts";
import { connectDatabase } from "../../runtimes/shared/database_client.ts";
import type { DatabaseClient } from "../../src/worker/port.ts";
import { BGWH_STARTED, BGWH_STOPPED, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS } from "../../mod.ts";
import { HEARTBEATS } from "../fixtures/cluster_workers.ts";
import { REAL_URL } from "../helpers/clusters.ts";
import { SKIP_WITHOUT_SERVER as skip } from "../helpers/cluster_db.ts";
import { type HostProcess, isAlive, pollUntil, startHost } from "../helpers/cluster_hosts.ts";
import { startPausableProxy } from "../helpers/pausable_proxy.ts";

type Handle = { cluster: string; slot: number; generation: number };
type Status = { status: number; pid: number | null; hostId: string | null };

const WORKERS = fileURLToPath(new URL("../fixtures/workers.ts", import.meta.url));
const CLUSTER_WORKERS = fileURLToPath(new URL("../fixtures/cluster_workers.ts", import.meta.url));
const napper = (name: string) => ({
  bgw_name: name,
  bgw_flags: 0,
  bgw_start_time: 2,
  bgw_restart_time: -1,
  bgw_library_name: WORKERS,
  bgw_function_name: "napper",
});
const heartbeat = (name: string, restartTime: number) => ({
  bgw_name: name,
  bgw_flags: BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
  bgw_start_time: 2,
  bgw_restart_time: restartTime,
  bgw_library_name: CLUSTER_WORKERS,
  bgw_function_name: "heartbeat",
});

/** A cluster name of this test's own, an admin connection, and the cluster's rows removed afterwards. */
async function freshClusterName(t: TestContext, prefix: string): Promise<{ name: string; admin: DatabaseClient }> {
  const admin = await connectDatabase(REAL_URL!, { applicationName: `cluster hosts ${prefix}` });
  const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(
    `create table if not exists ${HEARTBEATS} (cluster text, slot int, generation int, fence bigint, host_id text,
       pid int, at timestamptz not null default clock_timestamp())`,
  );
  t.after(async () => {
    await admin.query(`delete from ${HEARTBEATS} where cluster = $1`, [name]);
    await admin.query("delete from bgworker_cluster.clusters where name = $1", [name]).catch(() => {});
    await admin.close();
  });
  return { name, admin };
}

test("cluster hosts: 1,000 registrations from three hosts at once never exceed a host's slots or the cluster's cap", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const { name, admin } = await freshClusterName(t, "caps");
  const base = { url: REAL_URL!, cluster: name, leaseMs: 10_000, cap: 10 };
  const hosts = await Promise.all(
    [["a", 3], ["b", 4], ["c", 5]].map(([id, slots]) =>
      startHost(t, { ...base, hostId: `caps-${id}`, slots: slots as number })
    ),
  );
  const counts = [334, 333, 333];
  const results = await Promise.all(
    hosts.map((host, i) =>
      host.call<(Handle | null)[]>("registerMany", { worker: napper("capped"), count: counts[i] })
    ),
  );
  const placed = results.flat().filter((h): h is Handle => h !== null);
  assert.equal(results.flat().length, 1000);
  assert.equal(placed.length, 10, "exactly the cluster's cap is placed: 12 slots are offered, the cap is 10");
  assert.equal(new Set(placed.map((h) => h.slot)).size, 10, "no slot given twice");
  const perHost = await admin.query(
    `select h.host_id, h.max_workers, count(w.slot)::int as used from bgworker_cluster.hosts h
       left join bgworker_cluster.workers w on w.cluster = h.cluster and w.host_id = h.host_id and w.state <> 'stopped'
      where h.cluster = $1 group by h.host_id, h.max_workers order by h.host_id`,
    [name],
  );
  for (const row of perHost) assert.ok((row.used as number) <= (row.max_workers as number), JSON.stringify(row));
  // Every placed worker starts on its host, and no host runs more than its slots.
  const started = await Promise.all(placed.map((h) => hosts[0]!.call<Status>("waitStartup", { handle: h })));
  assert.ok(started.every((s) => s.status === BGWH_STARTED), JSON.stringify(started));
  for (const [i, host] of hosts.entries()) {
    const local = await host.call<unknown[]>("local");
    assert.ok(local.length <= [3, 4, 5][i]!, `${host.hostId} runs ${local.length}`);
    assert.equal(local.length, started.filter((s) => s.hostId === host.hostId).length);
  }
});

test("cluster hosts: a handle made on host A is polled, awaited and terminated from host B", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const { name } = await freshClusterName(t, "handle");
  const base = { url: REAL_URL!, cluster: name, leaseMs: 10_000 };
  const dir = mkdtempSync(join(tmpdir(), "bgworker-cluster-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await startHost(t, { ...base, hostId: "handle-a", slots: 2 });
  const b = await startHost(t, { ...base, hostId: "handle-b", slots: 2, controlSocket: join(dir, "b.sock") });
  const handle = await a.call<Handle>("register", { worker: napper("shared") });
  assert.ok(handle, "placed");
  const started = await b.call<Status>("waitStartup", { handle });
  assert.equal(started.status, BGWH_STARTED);
  assert.ok(started.pid! > 0 && ["handle-a", "handle-b"].includes(started.hostId!), JSON.stringify(started));
  assert.ok(isAlive(started.pid!), "the pid B reads is a live process");
  assert.deepEqual(await b.call<Status>("status", { handle }), started);
  // B lists every host and the worker wherever it runs, and so does `bgworker ps --cluster` through B's socket.
  const hosts = await b.call<{ hostId: string; maxWorkers: number; workers: number }[]>("hosts");
  assert.deepEqual(hosts.map((h) => [h.hostId, h.maxWorkers]), [["handle-a", 2], ["handle-b", 2]]);
  const [listed] = await b.call<{ handle: Handle; hostId: string; pid: number; state: string }[]>("list");
  assert.deepEqual([listed!.handle, listed!.hostId, listed!.pid, listed!.state], [
    handle,
    started.hostId,
    started.pid,
    "started",
  ]);
  const io = memoryIo(dir);
  assert.equal(await runCli(["ps", "--cluster", "--json", "--socket", join(dir, "b.sock")], io), 0, io.stderr.join(""));
  const [view] = JSON.parse(io.stdout.join("")) as { cluster: string; hostId: string; workers: { pid: number }[] }[];
  assert.deepEqual([view!.cluster, view!.hostId, view!.workers.map((w) => w.pid)], [name, "handle-b", [started.pid]]);
  await b.call("terminate", { handle });
  assert.equal(await b.call<number>("waitShutdown", { handle }), BGWH_STOPPED);
  await pollUntil("the worker's process is gone", 10_000, () => isAlive(started.pid!) ? undefined : true);
  assert.equal((await a.call<Status>("status", { handle })).status, BGWH_STOPPED);
  await assert.rejects(b.call("status", { handle: { ...handle, cluster: "other" } }), /bad cluster/);
});

/** Every heartbeat of one slot grouped by fence, in fence order: [fence, host, first, last] with times in ms. */
async function fenceSpans(admin: DatabaseClient, cluster: string, slot: number) {
  const rows = await admin.query(
    `select fence::text as fence, min(host_id) as host, count(distinct host_id)::int as hosts,
            extract(epoch from min(at)) * 1000 as first, extract(epoch from max(at)) * 1000 as last
       from ${HEARTBEATS} where cluster = $1 and slot = $2 group by fence order by fence::bigint`,
    [cluster, slot],
  );
  return rows.map((r) => ({
    fence: BigInt(r.fence as string),
    host: r.host as string,
    hosts: r.hosts as number,
    first: Number(r.first),
    last: Number(r.last),
  }));
}

/** No two fences of a slot overlap in time, fences only grow, and each fence ran on one host. */
async function assertNeverTwoAtOnce(admin: DatabaseClient, cluster: string, slots: number[]) {
  for (const slot of slots) {
    const spans = await fenceSpans(admin, cluster, slot);
    for (const span of spans) assert.equal(span.hosts, 1, `slot ${slot} fence ${span.fence} ran on one host`);
    for (let i = 1; i < spans.length; i++) {
      assert.ok(
        spans[i]!.first > spans[i - 1]!.last,
        `slot ${slot}: fence ${spans[i]!.fence} began before ${spans[i - 1]!.fence} ended`,
      );
    }
  }
}

test("cluster hosts: after kill -9 of a host its restartable workers run on the others, never two copies at once", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const { name, admin } = await freshClusterName(t, "failover");
  const leaseMs = 2000;
  const restartS = 1;
  const base = { url: REAL_URL!, cluster: name, leaseMs };
  const hosts = await Promise.all(["a", "b", "c"].map((id) => startHost(t, { ...base, hostId: `fo-${id}`, slots: 3 })));
  const [a, b] = hosts as [HostProcess, HostProcess, HostProcess];
  const handles: Handle[] = [];
  for (let i = 0; i < 6; i++) {
    handles.push((await a.call<Handle>("register", { worker: heartbeat(`beat ${i}`, restartS) }))!);
  }
  const started = await Promise.all(handles.map((handle) => b.call<Status>("waitStartup", { handle })));
  const onA = handles.filter((_, i) => started[i]!.hostId === "fo-a");
  assert.equal(onA.length, 2, `the most-free-slots rule spreads six workers two per host: ${JSON.stringify(started)}`);
  // Let every worker write a few heartbeats under its first fence.
  await pollUntil("heartbeats of every worker", 20_000, async () => {
    const [row] = await admin.query(`select count(distinct slot)::int as n from ${HEARTBEATS} where cluster = $1`, [
      name,
    ]);
    return row!.n === 6 ? true : undefined;
  });
  const killedAt = Date.now();
  process.kill(a.pid, "SIGKILL");
  await a.exited;
  for (const s of started.filter((s) => s.hostId === "fo-a")) {
    await pollUntil(`worker ${s.pid} of the killed host gone`, 10_000, () => isAlive(s.pid!) ? undefined : true);
  }
  const moved = await Promise.all(
    onA.map((handle) =>
      pollUntil(`slot ${handle.slot} running on another host`, 30_000, async () => {
        const status = await b.call<Status>("status", { handle });
        return status.status === BGWH_STARTED && status.hostId !== "fo-a" ? status : undefined;
      })
    ),
  );
  const failoverMs = Date.now() - killedAt;
  t.diagnostic(
    `failover: running elsewhere ${failoverMs} ms after kill -9 (lease ${leaseMs} ms + restart ${restartS} s)`,
  );
  assert.ok(moved.every((s) => s.hostId === "fo-b" || s.hostId === "fo-c"), JSON.stringify(moved));
  // Heartbeats under the new fences, then the check over the whole run.
  await pollUntil("heartbeats under the new fences", 20_000, async () => {
    const spans = await Promise.all(onA.map((h) => fenceSpans(admin, name, h.slot)));
    return spans.every((s) => s.length === 2) ? true : undefined;
  });
  for (const handle of onA) {
    const [old, moved] = await fenceSpans(admin, name, handle.slot);
    assert.ok(moved!.fence > old!.fence, "a move takes a higher fence");
    assert.equal(old!.host, "fo-a");
    // Not before the dead host's lease ended plus the restart time: the gap covers at least the restart time.
    assert.ok(moved!.first - old!.last >= restartS * 1000, `gap ${moved!.first - old!.last} ms`);
  }
  await assertNeverTwoAtOnce(admin, name, handles.map((h) => h.slot));
});

test("cluster hosts: a host cut off from the database stops its workers before its lease ends", {
  skip,
  timeout: 180_000,
}, async (t) => {
  const { name, admin } = await freshClusterName(t, "cutoff");
  const target = new URL(REAL_URL!);
  const proxy = await startPausableProxy(target.hostname, Number(target.port));
  t.after(async () => {
    proxy.resume();
    await proxy.close();
  });
  const leaseMs = 3000;
  const cut = await startHost(t, {
    url: proxy.url(REAL_URL!),
    workerUrl: REAL_URL!,
    cluster: name,
    hostId: "cut",
    leaseMs,
    slots: 2,
  });
  const handles = [
    (await cut.call<Handle>("register", { worker: heartbeat("cut 0", 0) }))!,
    (await cut.call<Handle>("register", { worker: heartbeat("cut 1", 0) }))!,
  ];
  const started = await Promise.all(handles.map((handle) => cut.call<Status>("waitStartup", { handle })));
  assert.ok(started.every((s) => s.status === BGWH_STARTED && s.hostId === "cut"), JSON.stringify(started));
  const other = await startHost(t, { url: REAL_URL!, cluster: name, hostId: "other", leaseMs, slots: 2 });
  proxy.pause();
  for (const s of started) {
    await pollUntil(
      `worker ${s.pid} stopped by the cut-off host`,
      leaseMs * 3,
      () => isAlive(s.pid!) ? undefined : true,
    )
      .catch((error) => assert.fail(`${error.message}; the host's log:\n${cut.log()}`));
    const [lease] = await admin.query(
      "select lease_until >= clock_timestamp() as live from bgworker_cluster.hosts where cluster = $1 and host_id = 'cut'",
      [name],
    );
    assert.equal(lease!.live, true, "the worker was gone while the cut-off host's lease still ran");
  }
  // Once the lease has lapsed, the other host takes the workers over.
  const moved = await Promise.all(
    handles.map((handle) =>
      pollUntil(`slot ${handle.slot} on the other host`, 30_000, async () => {
        const status = await other.call<Status>("status", { handle });
        return status.status === BGWH_STARTED && status.hostId === "other" ? status : undefined;
      })
    ),
  );
  assert.equal(moved.length, 2);
  await assertNeverTwoAtOnce(admin, name, handles.map((h) => h.slot));
});
