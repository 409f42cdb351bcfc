/**
 * PostgreSQL's src/test/modules/worker_spi/t/001_worker_spi.pl, on the
 * embedded cluster and on a real server, with examples/worker_spi_worker.ts.
 * Where the TAP test reads pg_stat_activity, these read what the workers
 * made: their schemas, in which database, owned by which role.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test, type TestContext } from "node:test";
import {
  createExtension,
  setWorkerSpiConfigFile,
  workerSpiLaunch,
  type WorkerSpiSettings,
} from "../../examples/worker_spi_worker.ts";
import { CLUSTERS } from "../helpers/clusters.ts";
import { type Harness, realPostmaster } from "../helpers/real_postmaster.ts";
import { connectSql } from "../helpers/sql.ts";

const WORKER_SPI = new URL("../../examples/worker_spi_worker.ts", import.meta.url).href;

type Sql = Awaited<ReturnType<typeof connect>>;
function connect(url: string) {
  return connectSql(url);
}

/**
 * A postmaster on `cluster` with worker_spi's settings file, and a database
 * of this run's own: on the real server every runtime's run shares the
 * cluster, so each run counts in a fresh database, dropped at the end.
 */
async function setUp(
  t: TestContext,
  cluster: (typeof CLUSTERS)[number],
  settings: WorkerSpiSettings,
  preload: boolean,
) {
  const dir = mkdtempSync(join(tmpdir(), "worker_spi-test-"));
  const settingsFile = join(dir, "worker_spi.json");
  const database = cluster.name === "embedded" ? "mydb" : `mydb_${process.pid}_${Date.now()}`;
  writeFileSync(settingsFile, JSON.stringify({ ...settings, database }));
  setWorkerSpiConfigFile(settingsFile);
  const harness = realPostmaster({
    ...cluster.option,
    maxWorkerProcesses: 16,
    sharedPreloadLibraries: preload ? [WORKER_SPI] : [],
  });
  // The database comes first, as in the TAP test, "so as the workers can connect to it when the library is loaded".
  const admin = await connect(await harness.pm.connectionUrl());
  await admin.unsafe(`create database "${database}"`);
  t.after(async () => {
    await harness.pm.stop("fast");
    if (cluster.name === "real server") await admin.unsafe(`drop database "${database}" with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });
  await harness.pm.start();
  const mydb = await connect(await harness.pm.connectionUrl(database));
  t.after(() => mydb.end());
  return { ...harness, admin, mydb, database };
}

const logged = ({ logs }: Pick<Harness, "logs">, text: string) => () => logs.some((line) => line.includes(text));

/** The worker_spi schemas of a database, with their owners: who each worker connected as, and where. */
async function schemas(sql: Sql): Promise<string[]> {
  const rows =
    await sql`select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname like 'schema%' order by nspname`;
  return rows.map((r) => `${r.nspname}|${r.owner}`);
}

for (const cluster of CLUSTERS) {
  test(
    `worker_spi, ${cluster.name}: workerSpiLaunch(4) starts a dynamic worker; on SIGHUP it moves the delta into the total`,
    cluster.run,
    async (t) => {
      const spi = await setUp(t, cluster, { naptime: 3600 }, false);
      createExtension(spi.pm);
      const pid = await workerSpiLaunch(4);
      assert.ok(typeof pid === "number" && pid > 0, `dynamic bgworker launched: ${pid}`);
      await spi.until(
        "schema4.counted",
        logged(spi, "worker_spi dynamic worker 4 initialized with schema4.counted"),
        30_000,
      );
      await spi.mydb`insert into schema4.counted values ('total', 0), ('delta', 1)`;
      // A naptime of an hour: only the SIGHUP can make the worker loop now.
      spi.pm.reloadConfiguration();
      await spi.until(
        "the delta to be counted",
        logged(spi, "worker_spi dynamic worker 4: count in schema4.counted is now 1"),
        30_000,
      );
      assert.deepEqual(
        [...await spi.mydb`select type, value from schema4.counted`],
        [{ type: "total", value: 1 }],
        "dynamic bgworker correctly consumed tuple data",
      );
      // Back to its nap: its wait event, as pg_stat_activity shows worker_spi's (a bounded poll: no event says it).
      const napping = () =>
        spi.pm.backgroundWorkers().find((w) => w.bgw_name === "worker_spi dynamic worker 4")?.waitEvent;
      for (const since = Date.now(); napping() !== "WorkerSpiMain" && Date.now() - since < 10_000;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(napping(), "WorkerSpiMain");
    },
  );

  test(
    `worker_spi, ${cluster.name}: static workers in another database; dynamic workers by database and role OID; ROLELOGINCHECK and ALLOWCONN`,
    cluster.run,
    async (t) => {
      const spi = await setUp(t, cluster, { naptime: 3600, total_workers: 3 }, true);
      for (const i of [1, 2, 3]) {
        await spi.until(
          `static worker ${i}`,
          logged(spi, `worker_spi worker ${i} initialized with schema${i}.counted`),
          30_000,
        );
      }
      assert.equal(
        spi.pm.backgroundWorkers().filter((w) => w.bgw_type === "worker_spi").length,
        3,
        "total_workers static workers",
      );
      assert.deepEqual(
        await schemas(spi.mydb),
        ["schema1|postgres", "schema2|postgres", "schema3|postgres"],
        "bgworkers all launched, in the settings' database",
      );

      // Roles are the cluster's: made once, and kept, on the real server.
      await spi.admin.unsafe(
        "do $$ begin if not exists (select from pg_roles where rolname = 'myrole') then create role myrole superuser login; end if; end $$",
      );
      await spi.admin.unsafe(
        "do $$ begin if not exists (select from pg_roles where rolname = 'nologrole') then create role nologrole nologin superuser; end if; end $$",
      );
      const [ids] = await spi.admin`select (select oid from pg_database where datname = ${spi.database})::int as mydb,
      (select oid from pg_roles where rolname = 'myrole')::int as myrole, (select oid from pg_roles where rolname = 'nologrole')::int as nologrole`;
      const { mydb, myrole, nologrole } = ids as { mydb: number; myrole: number; nologrole: number };

      for (const index of [10, 11]) assert.ok((await workerSpiLaunch(index, mydb, myrole))! > 0);
      for (const index of [10, 11]) {
        await spi.until(
          `dynamic worker ${index}`,
          logged(spi, `worker_spi dynamic worker ${index} initialized`),
          30_000,
        );
      }

      assert.ok((await workerSpiLaunch(12, mydb, nologrole))! > 0, "the worker starts, then fails to connect");
      await spi.until("nologrole refused", logged(spi, 'role "nologrole" is not permitted to log in'), 30_000);
      assert.ok((await workerSpiLaunch(13, mydb, nologrole, ["ROLELOGINCHECK"]))! > 0);
      await spi.until("dynamic worker 13", logged(spi, "worker_spi dynamic worker 13 initialized"), 30_000);

      await spi.admin.unsafe(`alter database "${spi.database}" allow_connections false`);
      assert.ok((await workerSpiLaunch(14, mydb, myrole))! > 0);
      await spi.until(
        "mydb refused",
        logged(spi, `database "${spi.database}" is not currently accepting connections`),
        30_000,
      );
      assert.ok((await workerSpiLaunch(15, mydb, myrole, ["ALLOWCONN"]))! > 0);
      if (cluster.name === "embedded") {
        await spi.until("dynamic worker 15", logged(spi, "worker_spi dynamic worker 15 initialized"), 30_000);
      } else {
        // A real server refuses the connection itself; bgworker connects from outside it, and says so.
        await spi.until(
          "the bypass refused, with the reason",
          logged(spi, "BGWORKER_BYPASS_ALLOWCONN cannot be honoured"),
          30_000,
        );
      }
      await spi.admin.unsafe(`alter database "${spi.database}" allow_connections true`);

      assert.deepEqual(await schemas(spi.mydb), [
        "schema1|postgres",
        "schema10|myrole",
        "schema11|myrole",
        "schema13|nologrole",
        ...(cluster.name === "embedded" ? ["schema15|myrole"] : []),
        "schema2|postgres",
        "schema3|postgres",
      ], "each dynamic worker connected to the database and as the role its OIDs named");
      await assert.rejects(
        workerSpiLaunch(16, mydb, myrole, ["NOSUCHFLAG" as "ALLOWCONN"]),
        /incorrect flag value found in array/,
      );
    },
  );
}
