// Database connections inside a worker (src/worker/database.ts) on a fake
// port and fake clients: PostgreSQL's checks and messages, and the
// statements each kind of cluster is sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_BYPASS_ALLOWCONN,
  BGWORKER_BYPASS_ROLELOGINCHECK,
  BGWORKER_INTERRUPTIBLE,
  BGWORKER_SHMEM_ACCESS,
  BgWorkerStart_ConsistentState,
} from "../src/constants.ts";
import { BackgroundWorkerError } from "../src/errors.ts";
import type { WorkerDatabase } from "../src/protocol.ts";
import {
  backgroundWorkerInitializeConnection,
  backgroundWorkerInitializeConnectionByOid,
} from "../src/worker/database.ts";
import { INTERRUPT_POLL_MS } from "../src/worker/interruptible.ts";
import { resetWorkerStateForTests } from "../src/worker/state.ts";
import { bootWorker, FakeDatabaseClient, startMessage, testWorker } from "./helpers/fake_worker_port.ts";

const CONNECTS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
const SERVER: WorkerDatabase = { url: "postgres://postgres@db.test:5432/postgres", embedded: false };
const EMBEDDED: WorkerDatabase = { url: "postgres://postgres@127.0.0.1:41633/postgres", embedded: true };

/** What the admin connection's check finds; by default everything exists and may log in. */
interface Catalog {
  db_exists?: boolean;
  datallowconn?: boolean;
  role_exists?: boolean;
  rolcanlogin?: boolean;
}

/** A started worker whose main runs on, with every connection it opens recorded. */
async function worker(database: WorkerDatabase | undefined, catalog: Catalog = {}, flags = CONNECTS) {
  const port = bootWorker();
  const clients: { url: string; target: { database?: string; user?: string }; client: FakeDatabaseClient }[] = [];
  port.connect = (url, target) => {
    const client = new FakeDatabaseClient((sql, params) => {
      if (sql.includes("current_user as superuser")) {
        return [{
          superuser: "postgres",
          db_exists: true,
          datallowconn: true,
          role_exists: true,
          rolcanlogin: true,
          datid: 4242,
          ...catalog,
        }];
      }
      if (sql.includes("from pg_database where oid")) {
        return [{ dbname: params[0] === 16384 ? "mydb" : null, username: params[1] === 10 ? "postgres" : null }];
      }
      return [];
    });
    clients.push({ url, target, client });
    return Promise.resolve(client);
  };
  const imported = new Promise<void>((resolve) =>
    port.module("file:///tester.ts", () => (resolve(), { main: () => new Promise(() => {}) }))
  );
  port.deliver(
    startMessage(testWorker({ bgw_flags: flags, bgw_start_time: BgWorkerStart_ConsistentState }), { database }),
  );
  await imported;
  return { port, clients };
}

const statements = (client: FakeDatabaseClient) => client.statements.map((s) => s.sql);

test("database: outside a worker, before the start, and without the flag, PostgreSQL's refusals", async () => {
  resetWorkerStateForTests();
  await assert.rejects(
    backgroundWorkerInitializeConnection("postgres", null),
    /backgroundWorkerInitializeConnection: not inside a background worker process/,
  );
  bootWorker();
  await assert.rejects(backgroundWorkerInitializeConnection("postgres", null), /this worker has not been started yet/);
  await worker(SERVER, {}, 0);
  await assert.rejects(backgroundWorkerInitializeConnection("postgres", null), (e: unknown) => {
    assert.ok(e instanceof BackgroundWorkerError);
    assert.equal(
      e.message,
      'background worker "tester": database connection requirement not indicated during registration',
    );
    assert.deepEqual([e.field, e.code], ["bgw_flags", "object_not_in_prerequisite_state"]);
    return true;
  });
});

test("database: arguments are checked and name what was wrong; a bad call does not use up the one connection", async () => {
  await worker(SERVER);
  const call = backgroundWorkerInitializeConnection as (...args: unknown[]) => Promise<unknown>;
  await assert.rejects(
    call("", null),
    (e: unknown) => e instanceof TypeError && /dbname must be a database name or null/.test(e.message),
  );
  await assert.rejects(call(5, null), /dbname must be a database name or null/);
  await assert.rejects(
    call("postgres", ""),
    (e: unknown) => e instanceof TypeError && /username must be a role name or null/.test(e.message),
  );
  await assert.rejects(
    call("postgres", null, 0x10),
    /flags must be a combination of BGWORKER_BYPASS_ALLOWCONN and BGWORKER_BYPASS_ROLELOGINCHECK/,
  );
  await assert.rejects(call("postgres", null, 1.5), TypeError);
  const byOid = backgroundWorkerInitializeConnectionByOid as (...args: unknown[]) => Promise<unknown>;
  for (
    const [dboid, useroid, named] of [[0, null, "dboid"], [-1, null, "dboid"], [2 ** 32, null, "dboid"], [
      null,
      1.5,
      "useroid",
    ], [null, "10", "useroid"]] as const
  ) {
    await assert.rejects(
      byOid(dboid, useroid),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message ===
          `backgroundWorkerInitializeConnectionByOid: ${named} must be an OID (a positive 32-bit integer) or null`,
    );
  }
  await backgroundWorkerInitializeConnection("postgres", null);
});

test("database: one call per worker (PostgreSQL's 'invalid processing mode'), and a worker given no cluster is told why", async () => {
  await worker(undefined);
  await assert.rejects(
    backgroundWorkerInitializeConnection("postgres", null),
    /backgroundWorkerInitializeConnection: no database cluster was given to this worker$/,
  );
  await assert.rejects(
    backgroundWorkerInitializeConnection("postgres", null),
    (e: unknown) =>
      e instanceof BackgroundWorkerError && /invalid processing mode in background worker/.test(e.message),
  );
  await worker({ unavailable: "the embedded cluster could not start: out of disk" });
  await assert.rejects(
    backgroundWorkerInitializeConnection("postgres", null),
    /backgroundWorkerInitializeConnection: the embedded cluster could not start: out of disk/,
  );
});

test("database: InitPostgres's checks of the database and the role, with their bypass flags", async () => {
  const refused: [WorkerDatabase, Catalog, number, RegExp][] = [
    [SERVER, { db_exists: false }, 0, /database "app" does not exist$/],
    [SERVER, { datallowconn: false }, 0, /database "app" is not currently accepting connections$/],
    [
      SERVER,
      { datallowconn: false },
      BGWORKER_BYPASS_ALLOWCONN,
      /BGWORKER_BYPASS_ALLOWCONN cannot be honoured: the server refuses the connection itself/,
    ],
    [SERVER, { role_exists: false }, 0, /role "alice" does not exist$/],
    [SERVER, { rolcanlogin: false }, 0, /role "alice" is not permitted to log in$/],
  ];
  for (const [database, catalog, flags, expected] of refused) {
    const { clients } = await worker(database, catalog);
    await assert.rejects(backgroundWorkerInitializeConnection("app", "alice", flags), expected);
    assert.equal(clients.length, 1, "only the check's connection was opened");
    assert.equal(clients[0]!.client.closed, true, "and it was closed");
  }
  const bypassed: [WorkerDatabase, Catalog, number][] = [
    [SERVER, { rolcanlogin: false }, BGWORKER_BYPASS_ROLELOGINCHECK],
    [EMBEDDED, { datallowconn: false }, BGWORKER_BYPASS_ALLOWCONN],
  ];
  for (const [database, catalog, flags] of bypassed) {
    await worker(database, catalog);
    await backgroundWorkerInitializeConnection(null, "alice", flags);
  }
});

test("database: on a real server, a session of the database's own, as the role; LISTEN refused; asyncNotify is pg_notify", async () => {
  const { clients } = await worker(SERVER);
  const db = await backgroundWorkerInitializeConnection("app", "alice");
  assert.deepEqual(clients.map((c) => [c.url, c.target]), [
    [SERVER.url, { applicationName: "tester" }],
    [SERVER.url, { database: "app", applicationName: "tester" }],
  ], "each connection shows the worker's bgw_name in pg_stat_activity");
  const session = clients[1]!.client;
  assert.deepEqual(statements(session), ['set session authorization "alice"']);
  await db.query("select 1");
  await assert.rejects(db.query("  listen jobs"), /cannot execute LISTEN within a background process$/);
  await db.query("unlisten *"); // allowed, as PostgreSQL's utility.c allows it
  await db.asyncNotify("jobs", "one more");
  await db.transaction((tx) => tx.query("update t set n = n + 1"));
  assert.deepEqual(statements(session).slice(1), [
    "select 1",
    "unlisten *",
    "select pg_notify($1, $2)",
    "BEGIN",
    "update t set n = n + 1",
    "COMMIT",
  ]);
  assert.deepEqual(session.statements[3]!.params, ["jobs", "one more"]);
});

test("database: no database on a real server is the maintenance database, read-only, no schema on the search path", async () => {
  const { clients } = await worker(SERVER);
  await backgroundWorkerInitializeConnection(null, "postgres");
  assert.deepEqual(clients[1]!.target, { applicationName: "tester" }, "the URL's own database");
  assert.deepEqual(
    statements(clients[1]!.client),
    ["set default_transaction_read_only = on", "set search_path = ''"],
    "the superuser needs no SET SESSION AUTHORIZATION",
  );
});

test("database: on the embedded cluster, the same session as on a real server; its checks hold a shared advisory lock", async () => {
  const { clients } = await worker(EMBEDDED);
  const db = await backgroundWorkerInitializeConnection("app", "alice");
  assert.deepEqual(clients.map((c) => c.target), [
    { applicationName: "tester" },
    { database: "app", applicationName: "tester" },
  ]);
  assert.deepEqual(statements(clients[0]!.client).slice(0, 1), ["select pg_advisory_lock_shared($1)"]);
  assert.equal(clients[0]!.client.closed, true, "the check's connection is closed, its lock with it");
  await db.query("select 2");
  assert.deepEqual(statements(clients[1]!.client), ['set session authorization "alice"', "select 2"]);
});

test("database: BGWORKER_BYPASS_ALLOWCONN on the embedded cluster opens the database for the instant of the connection", async () => {
  const { clients } = await worker(EMBEDDED, { datallowconn: false });
  await backgroundWorkerInitializeConnection("closed db", null, BGWORKER_BYPASS_ALLOWCONN);
  assert.deepEqual(statements(clients[0]!.client).filter((sql) => !sql.includes("current_user as superuser")), [
    "select pg_advisory_lock_shared($1)",
    "select pg_advisory_unlock_shared($1)",
    "select pg_advisory_lock($1)",
    'alter database "closed db" allow_connections true',
    'alter database "closed db" allow_connections false',
    "select pg_advisory_unlock($1)",
  ]);
  assert.deepEqual(clients[1]!.target, { database: "closed db", applicationName: "tester" });
  await worker(SERVER, { datallowconn: false });
  await assert.rejects(
    backgroundWorkerInitializeConnection("closed db", null, BGWORKER_BYPASS_ALLOWCONN),
    /BGWORKER_BYPASS_ALLOWCONN cannot be honoured/,
    "a server given by URL is not the postmaster's to reconfigure",
  );
});

test("database: BGWORKER_INTERRUPTIBLE watches the database on a connection of its own, and asks for its own termination", async () => {
  let waiting = false;
  const { port, clients } = await worker(SERVER, {}, CONNECTS | BGWORKER_INTERRUPTIBLE);
  const connect = port.connect!;
  port.connect = async (url, target) => {
    const client = await connect(url, target) as FakeDatabaseClient;
    if ((target as { applicationName?: string }).applicationName === "tester (interruptible)") {
      client.answer = () => [{ waiting }];
    }
    return client;
  };
  await backgroundWorkerInitializeConnection("app", null);
  assert.deepEqual(clients[2]!.target, { applicationName: "tester (interruptible)" }, "the maintenance database");
  port.advance(INTERRUPT_POLL_MS);
  await Promise.resolve();
  assert.equal(clients[2]!.client.statements.length, 1, "one look");
  assert.match(clients[2]!.client.statements[0]!.sql, /pg_locks/);
  assert.equal(clients[2]!.client.statements[0]!.params[0], 4242);
  waiting = true;
  port.advance(INTERRUPT_POLL_MS);
  const asked = await port.request("terminate");
  assert.deepEqual((asked as { handle: unknown }).handle, { slot: 0, generation: 1 }, "its own handle");
  assert.equal(clients[2]!.client.closed, true);
});

test("database: by OID, the names are looked up first and the by-name rules follow", async () => {
  const { clients } = await worker(EMBEDDED);
  await backgroundWorkerInitializeConnectionByOid(16384, 10);
  assert.deepEqual(clients[0]!.client.statements[0]!.params, [16384, 10]);
  assert.equal(clients[0]!.client.closed, true);
  assert.equal(clients.length, 3, "lookup, check, connection");
  assert.deepEqual(clients[2]!.target, { database: "mydb", applicationName: "tester" });
  assert.deepEqual(statements(clients[2]!.client), [], "the superuser's own role needs no SET SESSION AUTHORIZATION");
  await worker(EMBEDDED);
  await assert.rejects(backgroundWorkerInitializeConnectionByOid(99, null), /database 99 does not exist$/);
  await worker(EMBEDDED);
  await assert.rejects(backgroundWorkerInitializeConnectionByOid(null, 77), /role with OID 77 does not exist$/);
});
