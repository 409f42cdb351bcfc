import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import {
  type BackgroundWorker,
  BGWH_STOPPED,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_SHMEM_ACCESS,
} from "../../mod.ts";
import { CLUSTERS, REAL_URL } from "../helpers/clusters.ts";
import { type Harness, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { SCENARIOS } from "../fixtures/db_workers.ts";
import { reportFile } from "../helpers/report.ts";
import { connectSql } from "../helpers/sql.ts";

const DB_WORKERS = new URL("../fixtures/db_workers.ts", import.meta.url).href;
const CONNECTS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;

function dbWorker(name: string, fn: string, extra: Uint8Array, flags = CONNECTS): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: flags,
    bgw_start_time: 2,
    bgw_restart_time: -1,
    bgw_library_name: DB_WORKERS,
    bgw_function_name: fn,
    bgw_extra: extra,
  };
}

const REAL = CLUSTERS[1].run;

test("database, embedded: started on first need; a worker connects, queries with parameters, commits and rolls back; PostgreSQL's rules hold", async (t) => {
  const { pm, notes, logs, until, recheck } = realPostmaster();
  await pm.start();
  // The embedded cluster keeps this process alive until stopped: stop it even when an assertion fails.
  t.after(() => pm.stop());
  assert.ok(!logs.some((l) => l.includes("embedded database")), "not started before a worker needs it");
  await connectAndCheck({ pm, notes, until, recheck }, t);
  assert.ok(logs.includes("LOG:  starting the embedded database in a temporary directory"), logs.join("\n"));
  assert.ok(
    logs.some((l) =>
      /^LOG: {2}embedded database is ready at postgres:\/\/postgres@\/postgres\?host=[^&]+&port=\d+ \(running as .+ account, started in \d+ ms\)$/
        .test(l)
    ),
    logs.join("\n"),
  );
  await pm.stop();
  assert.ok(logs.includes("LOG:  embedded database stopped"), logs.join("\n"));
});

test(
  "database, real server: a worker connects, queries with parameters, commits and rolls back; PostgreSQL's rules hold",
  REAL,
  async (t) => {
    const { pm, notes, logs, until, recheck } = realPostmaster({ database: { url: REAL_URL! } });
    await pm.start();
    t.after(() => pm.stop());
    await connectAndCheck({ pm, notes, until, recheck }, t);
    assert.ok(!logs.some((l) => l.includes("embedded database")), "no embedded cluster when a URL is given");
  },
);

/** Databases and roles worker_spi's TAP test makes, made once per cluster (on the real server, every runtime's run shares them). */
async function prepareCluster(url: string): Promise<{ otherOid: number; loginOid: number }> {
  const sql = connectSql(url);
  try {
    const exists = async (db: string) => (await sql`select 1 from pg_database where datname = ${db}`).length > 0;
    if (!(await exists("bgw_other"))) await sql.unsafe("create database bgw_other");
    if (!(await exists("bgw_closed"))) await sql.unsafe("create database bgw_closed with allow_connections false");
    await sql.unsafe(
      "do $$ begin if not exists (select from pg_roles where rolname = 'bgw_login') then create role bgw_login login; end if; end $$",
    );
    await sql.unsafe(
      "do $$ begin if not exists (select from pg_roles where rolname = 'bgw_nologin') then create role bgw_nologin nologin; end if; end $$",
    );
    const [row] =
      await sql`select (select oid from pg_database where datname = 'bgw_other')::int as other, (select oid from pg_roles where rolname = 'bgw_login')::int as login`;
    return { otherOid: row!.other as number, loginOid: row!.login as number };
  } finally {
    await sql.end();
  }
}

const NOT_ACCEPTING = { name: "Error", message: 'database "bgw_closed" is not currently accepting connections' };
const NO_LOGIN = { name: "Error", message: 'role "bgw_nologin" is not permitted to log in' };
const MISSING = { name: "Error", message: 'database "bgw_missing" does not exist' };

for (const cluster of ["embedded", "real server"] as const) {
  test(
    `database, ${cluster}: worker_spi's rules: ALLOWCONN and ROLELOGINCHECK refused without their flag, databases and roles by name and by OID, no database`,
    cluster === "real server" ? REAL : {},
    async (t) => {
      const { pm, notes, until } = realPostmaster(cluster === "real server" ? { database: { url: REAL_URL! } } : {});
      await pm.start();
      t.after(() => pm.stop());
      const { otherOid, loginOid } = await prepareCluster(await pm.connectionUrl());
      const reports = SCENARIOS.map(() => reportFile());
      const byOid = reportFile();
      const noDatabase = reportFile();
      const handles = [
        ...reports.map((report, i) =>
          pm.registerDynamicBackgroundWorker({
            ...dbWorker(`scenario ${i}`, "connectAs", report.extra),
            bgw_main_arg: i,
            bgw_notify_pid: pm.pid,
          })!
        ),
        pm.registerDynamicBackgroundWorker({
          ...dbWorker("by oid", "connectByOid", byOid.extra),
          bgw_main_arg: (BigInt(otherOid) << 32n) | BigInt(loginOid),
          bgw_notify_pid: pm.pid,
        })!,
        pm.registerDynamicBackgroundWorker({
          ...dbWorker("no database", "connectWithoutDatabase", noDatabase.extra),
          bgw_notify_pid: pm.pid,
        })!,
      ];
      await until(
        "every scenario to finish",
        () => handles.every((h) => notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED)),
        60_000,
      );
      assert.deepEqual(
        reports.map((r) => r.read()),
        [
          NOT_ACCEPTING,
          cluster === "embedded"
            // The embedded cluster serves each database from a server of its own, which lets the bypass through.
            ? { ok: { user: "postgres", database: "bgw_closed" } }
            : {
              name: "Error",
              message:
                `${NOT_ACCEPTING.message}, and BGWORKER_BYPASS_ALLOWCONN cannot be honoured: the server refuses the connection itself, and bgworker connects from outside it`,
            },
          NO_LOGIN,
          { ok: { user: "bgw_nologin", database: "postgres" } },
          { ok: { user: "bgw_login", database: "bgw_other" } },
          MISSING,
        ],
      );
      assert.deepEqual(byOid.read(), { ok: { user: "bgw_login", database: "bgw_other" } });
      assert.deepEqual(noDatabase.read(), {
        user: "postgres",
        roles: true,
        write: { name: "PostgresError", message: "cannot execute CREATE TABLE in a read-only transaction" },
      }, "no database: shared catalogs read, nothing written");
    },
  );
}

async function connectAndCheck(
  { pm, notes, until, recheck }: Pick<Harness, "pm" | "notes" | "until" | "recheck">,
  t: TestContext,
): Promise<void> {
  // asyncNotify's delivery, seen by a listener of the application's, as PostgreSQL delivers it: at commit, never on rollback.
  const listener = connectSql(await pm.connectionUrl());
  t.after(() => listener.end());
  const heard: string[] = [];
  await listener.listen("counted", (payload) => {
    heard.push(payload);
    recheck();
  });
  const used = reportFile();
  const flagless = reportFile();
  const handles = [
    pm.registerDynamicBackgroundWorker({ ...dbWorker("user", "connectAndUse", used.extra), bgw_notify_pid: pm.pid })!,
    pm.registerDynamicBackgroundWorker({
      ...dbWorker("no flag", "connectWithoutFlag", flagless.extra, BGWORKER_SHMEM_ACCESS),
      bgw_notify_pid: pm.pid,
    })!,
  ];
  await until(
    "both workers to finish",
    () => handles.every((h) => notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED)),
    60_000,
  );
  const result = used.read<Record<string, unknown>>();
  assert.deepEqual(
    { total: result.total, who: result.who, database: result.database },
    { total: 3, who: "postgres", database: "postgres" },
    "the committed rows count, the rolled-back one does not; a null username is the superuser",
  );
  assert.deepEqual(result.rolledBack, { name: "Error", message: "roll it back" });
  assert.deepEqual(result.secondCall, {
    name: "BackgroundWorkerError",
    field: "backgroundWorkerInitializeConnection",
    message: 'background worker "user": invalid processing mode in background worker',
  });
  assert.deepEqual(result.listen, { name: "Error", message: "cannot execute LISTEN within a background process" });
  assert.deepEqual(result.unlisten, { ok: [] }, "UNLISTEN is allowed, as PostgreSQL's utility.c allows it");
  // Notifications reach a listener in commit order: once the sentinel sent after the worker's end arrives, any rolled-back one would have.
  await listener.unsafe("select pg_notify('counted', 'sentinel')");
  await until("the sentinel notification", () => heard.includes("sentinel"), 10_000);
  assert.deepEqual(heard, ["two rows", "outside a transaction", "sentinel"]);
  assert.deepEqual(flagless.read(), {
    name: "BackgroundWorkerError",
    field: "bgw_flags",
    message: 'background worker "no flag": database connection requirement not indicated during registration',
  });
}

test("database: a URL that is not PostgreSQL's is refused, naming the field and hiding the password", async () => {
  const { Postmaster } = await import("../../mod.ts");
  assert.throws(
    () => new Postmaster({ database: { url: "mysql://app:secret@db/app" } }),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === "database.url must be a postgres:// or postgresql:// URL; got mysql://app:***@db/app",
  );
  assert.throws(
    () => new Postmaster({ database: { embedded: { dataDir: "" } } }),
    /database\.embedded\.dataDir must be a non-empty path/,
  );
});
