/**
 * src/adapter.ts holds types only: the boundary between the core and a
 * runtime. This test builds the smallest fakes of those types (the type
 * checks of Deno and `npm run check` hold them to the interface) and checks
 * the contract a fake must keep: events of a process end with one `exit`,
 * the optional capabilities may be left out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type {
  EmbeddedDatabase,
  EmbeddedDatabaseOptions,
  RuntimeAdapter,
  TimerId,
  WorkerProcess,
  WorkerProcessEvents,
} from "../src/adapter.ts";
import type { StartMessage } from "../src/protocol.ts";
import type { SignalName } from "../src/signal_names.ts";

/** A runtime with a manual clock and processes that only record what they are told. */
function fakeAdapter() {
  let clock = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  let nextTimer = 1;
  const spawned: { start: StartMessage | null; events: WorkerProcessEvents; sent: unknown[]; signals: SignalName[] }[] =
    [];
  const log: string[] = [];
  const adapter: RuntimeAdapter = {
    pid: 4242,
    setTimer(ms, callback): TimerId {
      const id = nextTimer++;
      timers.set(id, { at: clock + ms, callback });
      return id;
    },
    clearTimer(timer) {
      timers.delete(timer as number);
    },
    spawn(start, events): WorkerProcess {
      const record = { start, events, sent: [] as unknown[], signals: [] as SignalName[] };
      spawned.push(record);
      return {
        pid: 5000 + spawned.length,
        send: (m) => void record.sent.push(m),
        kill: (s) => void record.signals.push(s),
      };
    },
    cwd: () => "/srv/app",
    fileExists: (path) => path === "/srv/app/w.ts",
    importModule: (url) => Promise.resolve({ url }),
    writeLog: (line) => void log.push(line),
  };
  const advance = (ms: number) => {
    clock += ms;
    for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > clock) continue;
      timers.delete(id);
      timer.callback();
    }
  };
  return { adapter, spawned, log, advance };
}

test("RuntimeAdapter: the required members are enough; shared memory, process checks, atExit and the embedded cluster are optional", async () => {
  const { adapter, log } = fakeAdapter();
  assert.equal(adapter.sharedMemory, undefined);
  assert.equal(adapter.processExists, undefined);
  assert.equal(adapter.atExit, undefined);
  assert.equal(adapter.startEmbeddedDatabase, undefined);
  assert.equal(adapter.pid, 4242);
  assert.equal(adapter.cwd(), "/srv/app");
  assert.equal(adapter.fileExists("/srv/app/w.ts"), true);
  assert.deepEqual(await adapter.importModule("file:///srv/app/w.ts"), { url: "file:///srv/app/w.ts" });
  adapter.writeLog("LOG:  started");
  assert.deepEqual(log, ["LOG:  started"]);
});

test("RuntimeAdapter: timers fire once on the adapter's clock, and a cleared or unknown timer is ignored", () => {
  const { adapter, advance } = fakeAdapter();
  const fired: string[] = [];
  adapter.setTimer(10, () => fired.push("a"));
  const b = adapter.setTimer(20, () => fired.push("b"));
  adapter.clearTimer(b);
  adapter.clearTimer("not a timer");
  advance(9);
  assert.deepEqual(fired, []);
  advance(1);
  advance(100);
  assert.deepEqual(fired, ["a"]);
});

test("WorkerProcess and WorkerProcessEvents: a spawned process takes messages and signals; its events end with exit", () => {
  const { adapter, spawned } = fakeAdapter();
  const seen: string[] = [];
  const events: WorkerProcessEvents = {
    message: (m) => void seen.push(`message ${JSON.stringify(m)}`),
    protocolError: (why) => void seen.push(`protocol error ${why}`),
    exit: (code, signal) => void seen.push(`exit ${code} ${signal}`),
  };
  const spare = adapter.spawn(null, events);
  spare.send({ type: "ping", sharedMemory: false });
  spare.kill("SIGTERM");
  assert.equal(spare.pid, 5001);
  assert.equal(spawned[0]!.start, null);
  assert.deepEqual(spawned[0]!.sent, [{ type: "ping", sharedMemory: false }]);
  assert.deepEqual(spawned[0]!.signals, ["SIGTERM"]);
  spawned[0]!.events.message({ type: "ready" });
  spawned[0]!.events.protocolError("garbage on the channel");
  spawned[0]!.events.exit(null, "SIGTERM");
  assert.deepEqual(seen, ['message {"type":"ready"}', "protocol error garbage on the channel", "exit null SIGTERM"]);
});

test("EmbeddedDatabase: an adapter that offers the embedded cluster starts it with its options and stops it", async () => {
  const started: EmbeddedDatabaseOptions[] = [];
  let stopped = 0;
  const { adapter } = fakeAdapter();
  const withCluster: RuntimeAdapter = {
    ...adapter,
    startEmbeddedDatabase(options): Promise<EmbeddedDatabase> {
      started.push(options);
      return Promise.resolve({
        url: "postgres://postgres@/postgres?host=%2Ftmp%2Fpg&port=5432",
        tcpUrl: "postgres://postgres:secret@127.0.0.1:5432/postgres",
        account: "nobody",
        stop: () => Promise.resolve(void stopped++),
      });
    },
  };
  const cluster = await withCluster.startEmbeddedDatabase!({ dataDir: "./pgdata" });
  assert.deepEqual(started, [{ dataDir: "./pgdata" }]);
  assert.equal(cluster.account, "nobody");
  await cluster.stop();
  assert.equal(stopped, 1);
});
