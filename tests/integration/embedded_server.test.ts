/**
 * The embedded PostgreSQL 18 server with real processes: what it is, who
 * runs it, where its socket is, that it dies with its postmaster (SIGKILL
 * included), what a killed postmaster's data directories become, and
 * BGWORKER_BYPASS_ALLOWCONN on it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  type BackgroundWorker,
  BGWH_STOPPED,
  BGWORKER_BACKEND_DATABASE_CONNECTION,
  BGWORKER_BYPASS_ALLOWCONN,
  BGWORKER_SHMEM_ACCESS,
} from "../../mod.ts";
import { REAP_AFTER_MS } from "../../runtimes/shared/group_reaper.ts";
import { CLOSED_DATABASE, WAITER_NAME, WAITING_QUERY } from "../fixtures/embedded_workers.ts";
import { realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { reportFile } from "../helpers/report.ts";
import { firstLine, isAlive, spawnSameRuntime } from "../helpers/same_runtime.ts";
import {
  killAndTime,
  poll,
  REAP_BOUND_MS,
  serverPidIn,
  serverProcesses,
  socketDirectory,
  startedMs,
  WAIT_MS,
} from "../helpers/server_processes.ts";
import { connectSql } from "../helpers/sql.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/embedded_postmaster.ts", import.meta.url));
const EMBEDDED_WORKERS = new URL("../fixtures/embedded_workers.ts", import.meta.url).href;
const CONNECTS = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
const AS_ROOT = process.getuid?.() === 0;

function embeddedWorker(name: string, fn: string, overrides: Partial<BackgroundWorker> = {}): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: CONNECTS,
    bgw_start_time: 2,
    bgw_restart_time: -1,
    bgw_library_name: EMBEDDED_WORKERS,
    bgw_function_name: fn,
    ...overrides,
  };
}

interface ChildInfo {
  postmaster: number;
  worker: number;
  url: string;
  startedMs: number | null;
}

const children = new Set<ChildProcess>();
const leftovers: string[] = [];
// A failed assertion must leave no postmaster (nor its server) behind, nor a kept data directory.
after(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
  }
  for (const path of leftovers) rmSync(path, { recursive: true, force: true });
});

/** A postmaster in a child process with its embedded server started (on `dataDir`, or a temporary one) and a connected worker. */
async function startChild(dataDir: string | null) {
  const child = spawnSameRuntime(SCRIPT, [dataDir ?? "-"]);
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const info = JSON.parse(await firstLine(child, WAIT_MS)) as ChildInfo;
  return { child, exited, info };
}

/** The waiting worker's session: under its bgw_name, idle after its last query (the check before its connection has another). */
async function waiterSession(sql: ReturnType<typeof connectSql>) {
  return await poll(`the session of "${WAITER_NAME}" in pg_stat_activity`, async () => {
    const rows = await sql<{ pid: number; datname: string; backend_type: string }[]>`
      select pid, datname, backend_type from pg_stat_activity
      where application_name = ${WAITER_NAME} and query = ${WAITING_QUERY} and state = 'idle'`;
    return rows[0];
  });
}

test("embedded server: PostgreSQL 18; a connected worker is in pg_stat_activity under its bgw_name; the socket directory is 0700", async (t) => {
  const { pm, logs } = realPostmaster();
  await pm.start();
  t.after(() => pm.stop());
  const handle = pm.registerDynamicBackgroundWorker({
    ...embeddedWorker(WAITER_NAME, "connectAndWait"),
    bgw_notify_pid: pm.pid,
  })!;
  await pm.waitForBackgroundWorkerStartup(handle);
  const url = await pm.connectionUrl();
  // connectionUrl() is the loopback one, for any client library; its password is set at each start.
  const [, password, port] = /^postgres:\/\/postgres:([^@]+)@127\.0\.0\.1:(\d+)\/postgres$/.exec(url) ?? [];
  assert.ok(password && port, url);
  assert.ok(!logs.some((line) => line.includes(password)), "the password is in no log line");
  const titles = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      return "";
    }
  });
  assert.ok(!titles.some((title) => title.includes(password)), "the password is in no process's command line");
  const sql = connectSql(url);
  t.after(() => sql.end({ timeout: 1 }));

  const [row] = await sql<{ version: string; num: number }[]>`
    select version(), current_setting('server_version_num')::int as num`;
  assert.match(row!.version, /^PostgreSQL 18\.\d+ /);
  assert.ok(row!.num >= 180000 && row!.num < 190000, String(row!.num));

  const session = await waiterSession(sql);
  assert.deepEqual({ datname: session.datname, backend_type: session.backend_type }, {
    datname: "postgres",
    backend_type: "client backend",
  });

  const socketDir = await socketDirectory(url);
  assert.equal((statSync(socketDir).mode & 0o777).toString(8), "700", `the mode of ${socketDir}`);
  assert.equal(
    (statSync(join(socketDir, `.s.PGSQL.${port}`)).mode & 0o777).toString(8),
    "700",
    "the socket's own mode",
  );
  t.diagnostic(`first start (initdb into a temporary directory): ${startedMs(logs)} ms`);
});

test(
  `embedded server: after SIGKILL of the postmaster's process, no postgres process of its server remains within 1 s plus the watchdog's ${REAP_AFTER_MS} ms`,
  async (t) => {
    const started = await startChild(null);
    const sql = connectSql(started.info.url);
    // A backend busy in a long query checks for its postmaster's death only when it waits: SIGQUIT must reach it.
    const busy = connectSql(started.info.url);
    const busyQuery = busy.unsafe("select count(*) from generate_series(1, 3000000000::bigint)").catch(() => {});
    t.after(async () => {
      await busy.end({ timeout: 1 }).catch(() => {});
      await busyQuery;
    });
    let server: number;
    let backend: number;
    let busyBackend: number;
    try {
      backend = (await waiterSession(sql)).pid;
      busyBackend = await poll("the busy backend", async () => {
        const [row] = await sql<{ pid: number }[]>`
          select pid from pg_stat_activity where query like 'select count(*) from generate_series%' and state = 'active'`;
        return row?.pid;
      });
      const [row] = await sql<{ data_directory: string }[]>`show data_directory`;
      server = serverPidIn(row!.data_directory);
    } finally {
      await sql.end({ timeout: 1 });
    }
    // Listed after the test's own session has ended, just before the kill.
    const pids = serverProcesses(server);
    assert.ok(pids.includes(backend), `the worker's backend ${backend} is among the server's processes ${pids}`);
    assert.ok(pids.includes(busyBackend), `the busy backend ${busyBackend} is among the server's processes ${pids}`);
    assert.ok(pids.length >= 3, `the server and its auxiliary processes: ${pids}`);
    assert.ok(isAlive(server) && isAlive(backend), "the server and the worker's backend run before the kill");
    const { exitedMs, reapedMs } = await killAndTime(started, pids);
    t.diagnostic(
      `${pids.length} postgres processes: none running ${exitedMs} ms after the postmaster's SIGKILL; ${
        reapedMs === null ? `not all reaped within ${REAP_BOUND_MS} ms` : `all reaped by init at ${reapedMs} ms`
      }`,
    );
    assert.ok(
      exitedMs <= 1000 + REAP_AFTER_MS,
      `gone after ${exitedMs} ms, more than 1 s plus the watchdog's ${REAP_AFTER_MS} ms`,
    );
  },
);

test("embedded server: a kept dataDir survives the postmaster's SIGKILL: the next postmaster starts on it, stale postmaster.pid and all, and sees the table made before", async (t) => {
  // As root the server runs as nobody, who must reach the directory: os.tmpdir() lets everyone through.
  const dataDir = mkdtempSync(join(tmpdir(), "bgw-embedded-kept-"));
  leftovers.push(dataDir);
  const started = await startChild(dataDir);
  const sql = connectSql(started.info.url);
  let pids: number[];
  try {
    await waiterSession(sql);
    await sql.unsafe("create table kept (n int); insert into kept values (1), (2), (3)");
    pids = serverProcesses(serverPidIn(dataDir));
  } finally {
    await sql.end({ timeout: 1 });
  }
  const oldServer = serverPidIn(dataDir);
  const pidFile = join(dataDir, "postmaster.pid");
  const pidFileBefore = readFileSync(pidFile, "utf8");
  // Not waiting for the reaping: while the killed server is a zombie, PostgreSQL would take its pid in postmaster.pid
  // for a running server ("lock file "postmaster.pid" already exists"); bgworker removes such a file first.
  await killAndTime(started, pids);
  // The watchdog's SIGQUIT lets the server remove its pid file; had the server been killed outright (SIGKILL to
  // the watchdog too), the file would be left: put it back as it was, so that the next start meets a stale one.
  if (!existsSync(pidFile)) {
    writeFileSync(pidFile, pidFileBefore, { mode: 0o600 });
    const owner = statSync(dataDir);
    chownSync(pidFile, owner.uid, owner.gid); // the server's, as the server had written it
  }
  assert.equal(serverPidIn(dataDir), oldServer, "a stale postmaster.pid names the killed server");

  const { pm, logs } = realPostmaster({ database: { embedded: { dataDir } } });
  await pm.start();
  try {
    const again = connectSql(await pm.connectionUrl());
    try {
      const [row] = await again<{ total: number }[]>`select sum(n)::int as total from kept`;
      assert.equal(row!.total, 6, "the rows committed before the SIGKILL");
    } finally {
      await again.end({ timeout: 1 });
    }
    assert.ok(logs.includes(`LOG:  starting the embedded database in "${dataDir}"`), logs.join("\n"));
    assert.notEqual(serverPidIn(dataDir), oldServer, "the new server wrote its own postmaster.pid");
    t.diagnostic(
      `start with initdb: ${started.info.startedMs} ms; restart on the kept dataDir after the SIGKILL (crash recovery): ${
        startedMs(logs)
      } ms`,
    );
  } finally {
    await pm.stop();
  }
  assert.ok(existsSync(join(dataDir, "PG_VERSION")), "the kept dataDir is still there after stop()");
});

test("embedded server: the temporary directory of a SIGKILLed postmaster is removed when the next postmaster's server starts", async () => {
  const started = await startChild(null);
  const temporary = await socketDirectory(started.info.url);
  assert.equal(basename(temporary).split("-").slice(0, 3).join("-"), `bgworker-pg-${started.info.postmaster}`);
  assert.ok(existsSync(join(temporary, "data", "PG_VERSION")), "the cluster lives in the temporary directory");
  await killAndTime(started, serverProcesses(serverPidIn(join(temporary, "data"))));

  const { pm } = realPostmaster();
  await pm.start();
  try {
    const url = await pm.connectionUrl();
    assert.ok(basename(await socketDirectory(url)).startsWith(`bgworker-pg-${process.pid}-`));
    assert.ok(!existsSync(temporary), `${temporary} is removed`);
  } finally {
    await pm.stop();
  }
});

test("embedded server: its account: as root, a dataDir root made is given to nobody, who runs the server; otherwise the process's own account", async (t) => {
  const dataDir = join(tmpdir(), `bgw-embedded-mkdir-${process.pid}-${Date.now()}`);
  leftovers.push(dataDir);
  mkdirSync(dataDir);
  if (AS_ROOT) assert.equal(statSync(dataDir).uid, 0, "root made it");
  const { pm, logs } = realPostmaster({ database: { embedded: { dataDir } } });
  await pm.start();
  t.after(() => pm.stop());
  const url = await pm.connectionUrl();
  const expected = AS_ROOT
    ? {
      name: "nobody",
      uid: Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim()),
    }
    : { name: "the postmaster's own", uid: process.getuid?.() ?? null };
  assert.ok(
    logs.some((l) => l.includes(`(running as ${expected.name} account, started in `)),
    `running as ${expected.name}:\n${logs.join("\n")}`,
  );
  if (expected.uid !== null) {
    const server = serverPidIn(dataDir);
    const owners = {
      dataDir: statSync(dataDir).uid,
      pidFile: statSync(join(dataDir, "postmaster.pid")).uid,
      socketDir: statSync(await socketDirectory(url)).uid,
      // The server process itself, where procfs tells.
      process: existsSync(`/proc/${server}`) ? statSync(`/proc/${server}`).uid : expected.uid,
    };
    assert.deepEqual(owners, {
      dataDir: expected.uid,
      pidFile: expected.uid,
      socketDir: expected.uid,
      process: expected.uid,
    });
  }
});

test(`embedded server: BGWORKER_BYPASS_ALLOWCONN lets a worker into a database with allow_connections false; without it, refused; datallowconn stays false`, async (t) => {
  const { pm, notes, until } = realPostmaster();
  await pm.start();
  t.after(() => pm.stop());
  const sql = connectSql(await pm.connectionUrl());
  t.after(() => sql.end({ timeout: 1 }));
  await sql.unsafe(`create database ${CLOSED_DATABASE} with allow_connections false`);
  const allowConn = async () =>
    (await sql<{ allow: boolean }[]>`select datallowconn as allow from pg_database where datname = ${CLOSED_DATABASE}`)[
      0
    ]!
      .allow;
  assert.equal(await allowConn(), false);

  const refused = reportFile();
  const bypassed = reportFile();
  // Both at once: the advisory lock keeps the refused worker's check out of the bypass's open instant.
  const handles = [
    pm.registerDynamicBackgroundWorker({
      ...embeddedWorker("without the flag", "connectToClosed", { bgw_main_arg: 0, bgw_extra: refused.extra }),
      bgw_notify_pid: pm.pid,
    })!,
    pm.registerDynamicBackgroundWorker({
      ...embeddedWorker("with the flag", "connectToClosed", {
        bgw_main_arg: BGWORKER_BYPASS_ALLOWCONN,
        bgw_extra: bypassed.extra,
      }),
      bgw_notify_pid: pm.pid,
    })!,
  ];
  await until(
    "both workers to finish",
    () => handles.every((h) => notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED)),
    WAIT_MS,
  );
  assert.deepEqual(refused.read(), {
    name: "Error",
    message: `database "${CLOSED_DATABASE}" is not currently accepting connections`,
  });
  assert.deepEqual(bypassed.read(), {
    ok: { user: "postgres", database: CLOSED_DATABASE, allowconn: false },
  }, "connected, and the database refuses connections again while the worker is in it");
  assert.equal(await allowConn(), false, "datallowconn is false afterwards");
  const ordinary = connectSql(await pm.connectionUrl(CLOSED_DATABASE));
  try {
    await assert.rejects(
      ordinary`select 1`,
      { message: `database "${CLOSED_DATABASE}" is not currently accepting connections` },
      "the database refuses an ordinary client",
    );
  } finally {
    await ordinary.end({ timeout: 1 });
  }
});
