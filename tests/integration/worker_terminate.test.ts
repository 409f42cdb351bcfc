/**
 * PostgreSQL's src/test/modules/worker_spi/t/002_worker_terminate.pl, on
 * the embedded server and on a server given by URL: a worker with
 * BGWORKER_INTERRUPTIBLE connected to a database gives way to `CREATE
 * DATABASE … TEMPLATE`, `ALTER DATABASE … RENAME TO`, `ALTER DATABASE … SET
 * TABLESPACE` and `DROP DATABASE`, which then succeed; a worker without the
 * flag makes each fail with PostgreSQL's error, and keeps running.
 */
import assert from "node:assert/strict";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test, type TestContext } from "node:test";
import { createExtension, setWorkerSpiConfigFile, workerSpiLaunch } from "../../examples/worker_spi_worker.ts";
import { serverAccount } from "../../runtimes/shared/embedded/server_directories.ts";
import { CLUSTERS } from "../helpers/clusters.ts";
import { realPostmaster } from "../helpers/real_postmaster.ts";
import { connectSql } from "../helpers/sql.ts";

/** The four commands, each on database `db`, with the error a connected worker without the flag causes. */
const COMMANDS = [
  {
    name: "CREATE DATABASE … TEMPLATE",
    sql: (db: string, other: string) => `create database "${other}" template "${db}"`,
    refusal: (db: string) => `source database "${db}" is being accessed by other users`,
  },
  {
    name: "ALTER DATABASE … RENAME TO",
    sql: (db: string, other: string) => `alter database "${db}" rename to "${other}"`,
    refusal: (db: string) => `database "${db}" is being accessed by other users`,
  },
  {
    name: "ALTER DATABASE … SET TABLESPACE",
    sql: (db: string, _other: string, space: string) => `alter database "${db}" set tablespace "${space}"`,
    refusal: (db: string) => `database "${db}" is being accessed by other users`,
  },
  {
    name: "DROP DATABASE",
    sql: (db: string, _other: string, _space: string) => `drop database "${db}"`,
    refusal: (db: string) => `database "${db}" is being accessed by other users`,
  },
] as const;

async function setUp(t: TestContext, cluster: (typeof CLUSTERS)[number]) {
  const dir = mkdtempSync(join(tmpdir(), "worker_terminate-test-"));
  const settingsFile = join(dir, "worker_spi.json");
  writeFileSync(settingsFile, JSON.stringify({ naptime: 3600 }));
  setWorkerSpiConfigFile(settingsFile);
  const harness = realPostmaster({ ...cluster.option, maxWorkerProcesses: 16 });
  await harness.pm.start();
  createExtension(harness.pm);
  const admin = connectSql(await harness.pm.connectionUrl());
  // On the shared real server every runtime's run makes its own objects.
  const tag = `wt_${process.pid}_${Date.now() % 100_000}`;
  // A tablespace's directory belongs to the server's account (nobody, when these tests run as root).
  const space = mkdtempSync(join(tmpdir(), "worker_terminate-space-"));
  const account = serverAccount();
  if (account) chownSync(space, account.uid, account.gid);
  await admin.unsafe(`create tablespace "${tag}_space" location '${space}'`);
  t.after(async () => {
    // Before the postmaster stops: the embedded server stops with it.
    for (const kind of ["new", "kept", "gone"]) {
      for (let i = 0; i < COMMANDS.length; i++) {
        await admin.unsafe(`drop database if exists "${tag}_${kind}${i}" with (force)`);
      }
    }
    await admin.unsafe(`drop tablespace if exists "${tag}_space"`);
    await admin.end();
    await harness.pm.stop("fast");
    rmSync(dir, { recursive: true, force: true });
    rmSync(space, { recursive: true, force: true });
  });
  const createDatabase = async (name: string) => {
    await admin.unsafe(`create database "${name}"`);
    const [row] = await admin`select oid::int as oid from pg_database where datname = ${name}`;
    return row!.oid as number;
  };
  /** Command `i` on database `db`, on a connection of its own (the commands may run at once). */
  const run = async (i: number, db: string) => {
    const session = connectSql(await harness.pm.connectionUrl());
    try {
      await session.unsafe(COMMANDS[i]!.sql(db, `${tag}_new${i}`, `${tag}_space`));
      return "succeeded";
    } catch (error) {
      return (error as Error).message;
    } finally {
      await session.end();
    }
  };
  return { ...harness, admin, tag, createDatabase, run };
}

for (const cluster of CLUSTERS) {
  test(
    `worker_terminate, ${cluster.name}: an interruptible worker is terminated by each of the four commands, which then succeed`,
    cluster.run,
    async (t) => {
      const spi = await setUp(t, cluster);
      for (const [i, command] of COMMANDS.entries()) {
        const db = `${spi.tag}_gone${i}`;
        const oid = await spi.createDatabase(db);
        const pid = await workerSpiLaunch(20 + i, oid, null, [], true);
        assert.ok(pid! > 0);
        await spi.until(
          `worker ${20 + i} connected`,
          () => spi.logs.some((l) => l.includes(`worker_spi dynamic worker ${20 + i} initialized`)),
          30_000,
        );
        assert.equal(await spi.run(i, db), "succeeded", `${command.name}: the worker gave way`);
        await spi.until(
          `worker ${20 + i} to exit`,
          () => spi.logs.includes(`LOG:  background worker "worker_spi dynamic" (PID ${pid}) exited with exit code 1`),
          30_000,
        );
        assert.ok(
          spi.logs.includes(`FATAL:  terminating background worker "worker_spi dynamic" due to administrator command`),
          `${command.name}: ${spi.logs.join("\n")}`,
        );
        assert.equal(
          spi.pm.backgroundWorkers().some((w) => w.bgw_name === `worker_spi dynamic worker ${20 + i}`),
          false,
          `${command.name}: terminated as by terminateBackgroundWorker, never restarted`,
        );
      }
    },
  );

  test(
    `worker_terminate, ${cluster.name}: a worker without the flag makes each command fail with PostgreSQL's error, and keeps running`,
    cluster.run,
    async (t) => {
      const spi = await setUp(t, cluster);
      const started = await Promise.all(COMMANDS.map(async (_command, i) => {
        const db = `${spi.tag}_kept${i}`;
        const pid = await workerSpiLaunch(30 + i, await spi.createDatabase(db), null, [], false);
        await spi.until(
          `worker ${30 + i} connected`,
          () => spi.logs.some((l) => l.includes(`worker_spi dynamic worker ${30 + i} initialized`)),
          30_000,
        );
        return { db, pid: pid! };
      }));
      // Each command waits 5 s for the other sessions to leave (PostgreSQL's CountOtherDBBackends): run them together.
      const outcomes = await Promise.all(COMMANDS.map((_command, i) => spi.run(i, started[i]!.db)));
      assert.deepEqual(outcomes, COMMANDS.map((command, i) => command.refusal(started[i]!.db)));
      for (const { pid } of started) {
        const worker = spi.pm.backgroundWorkers().find((w) => w.pid === pid);
        assert.equal(worker?.state, "running", `worker ${pid} keeps running`);
      }
    },
  );
}
