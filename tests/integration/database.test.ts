import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { BGWH_STOPPED, BGWORKER_BACKEND_DATABASE_CONNECTION, BGWORKER_SHMEM_ACCESS, type BackgroundWorker } from "../../mod.ts";
import { type Harness, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { reportFile } from "../helpers/report.ts";

const DB_WORKERS = new URL("../fixtures/db_workers.ts", import.meta.url).href;
const CONNECTS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;

function dbWorker(name: string, fn: string, extra: Uint8Array, flags = CONNECTS): BackgroundWorker {
  return { bgw_name: name, bgw_flags: flags, bgw_start_time: 2, bgw_restart_time: -1, bgw_library_name: DB_WORKERS, bgw_function_name: fn, bgw_extra: extra };
}

/** The real server `npm test` starts (scripts/real_postgres.mjs); run alone, the real-server tests say so and skip. */
const REAL_URL = process.env.BGWORKER_TEST_POSTGRES_URL;
const REAL = { skip: REAL_URL ? false : "no real server: npm test starts one and sets BGWORKER_TEST_POSTGRES_URL" };

test("database, embedded: started on first need; a worker connects, queries with parameters, commits and rolls back; PostgreSQL's rules hold", async (t) => {
  const { pm, notes, logs, until } = realPostmaster();
  await pm.start();
  // The embedded cluster keeps this process alive until stopped: stop it even when an assertion fails.
  t.after(() => pm.stop());
  assert.ok(!logs.some((l) => l.includes("embedded database")), "not started before a worker needs it");
  await connectAndCheck({ pm, notes, until });
  assert.ok(logs.includes("LOG:  starting the embedded database in memory"), logs.join("\n"));
  assert.ok(logs.some((l) => /^LOG:  embedded database is ready at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/.test(l)), logs.join("\n"));
  await pm.stop();
  assert.ok(logs.includes("LOG:  embedded database stopped"), logs.join("\n"));
});

test("database, real server: a worker connects, queries with parameters, commits and rolls back; PostgreSQL's rules hold", REAL, async (t) => {
  const { pm, notes, logs, until } = realPostmaster({ database: { url: REAL_URL! } });
  await pm.start();
  t.after(() => pm.stop());
  await connectAndCheck({ pm, notes, until });
  assert.ok(!logs.some((l) => l.includes("embedded database")), "no embedded cluster when a URL is given");
});

async function connectAndCheck({ pm, notes, until }: Pick<Harness, "pm" | "notes" | "until">): Promise<void> {
  const used = reportFile();
  const flagless = reportFile();
  const handles = [
    pm.registerDynamicBackgroundWorker({ ...dbWorker("user", "connectAndUse", used.extra), bgw_notify_pid: pm.pid })!,
    pm.registerDynamicBackgroundWorker({ ...dbWorker("no flag", "connectWithoutFlag", flagless.extra, BGWORKER_SHMEM_ACCESS), bgw_notify_pid: pm.pid })!,
  ];
  await until("both workers to finish", () => handles.every((h) => notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED)), 60_000);
  const result = used.read<Record<string, unknown>>();
  assert.deepEqual(
    { total: result.total, who: result.who, database: result.database },
    { total: 3, who: "postgres", database: "postgres" },
    "the committed rows count, the rolled-back one does not; a null username is the superuser",
  );
  assert.deepEqual(result.rolledBack, { name: "Error", message: "roll it back" });
  assert.deepEqual(result.secondCall, { name: "BackgroundWorkerError", field: "backgroundWorkerInitializeConnection", message: 'background worker "user": invalid processing mode in background worker' });
  assert.deepEqual(result.listen, { name: "Error", message: "cannot execute LISTEN within a background process" });
  assert.deepEqual(result.unlisten, { name: "Error", message: "cannot execute UNLISTEN within a background process" });
  assert.deepEqual(flagless.read(), {
    name: "BackgroundWorkerError",
    field: "bgw_flags",
    message: 'background worker "no flag": database connection requirement not indicated during registration',
  });
}

test("database: a URL that is not PostgreSQL's is refused, naming the field and hiding the password", async () => {
  const { Postmaster } = await import("../../mod.ts");
  assert.throws(() => new Postmaster({ database: { url: "mysql://app:secret@db/app" } }), (e: unknown) =>
    e instanceof TypeError && e.message === "database.url must be a postgres:// or postgresql:// URL; got mysql://app:***@db/app");
  assert.throws(() => new Postmaster({ database: { embedded: { dataDir: "" } } }), /database\.embedded\.dataDir must be a non-empty path/);
});
