import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import type { ControlLogLine } from "../src/control_protocol.ts";
import { controlSocketDirectory } from "../runtimes/shared/control/socket_path.ts";
import { formatLogLine, runLogs } from "../runtimes/shared/cli/commands/logs.ts";
import { runMetrics } from "../runtimes/shared/cli/commands/metrics.ts";
import { runPs } from "../runtimes/shared/cli/commands/ps.ts";
import { runReload } from "../runtimes/shared/cli/commands/reload.ts";
import { runStop } from "../runtimes/shared/cli/commands/stop.ts";
import { runTerminate } from "../runtimes/shared/cli/commands/terminate.ts";
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from "../runtimes/shared/cli/errors.ts";
import { helpText } from "../runtimes/shared/cli/help.ts";
import { processIo } from "../runtimes/shared/cli/io.ts";
import { runCli } from "../runtimes/shared/cli/run.ts";
import { memoryIo } from "./fixtures/cli_io.ts";
import { makeStaleSocket, startFakeControlServer, tempSocketDir, workerEntry } from "./helpers/fake_control_server.ts";

const NOW = 1_700_000_000_000;
const log = (message: string, name: string | null = null, at = NOW): ControlLogLine => ({
  at,
  level: "LOG",
  message,
  worker: name === null ? null : { name, pid: 4242 },
});

test("cli ps: every postmaster found, each under its heading, stale sockets skipped with a note", async () => {
  const a = await startFakeControlServer({ workers: [workerEntry({ startedAt: NOW - 5000 })] });
  const b = await startFakeControlServer({ dir: a.dir, pid: process.ppid, workers: [] });
  const stale = await makeStaleSocket(a.dir);
  try {
    const io = memoryIo(a.dir, NOW);
    assert.equal(await runCli(["ps"], io), EXIT_OK);
    const [low, high] = [a, b].sort((x, y) => x.pid - y.pid);
    const out = io.stdout.join("");
    assert.ok(out.includes(`postmaster ${low!.pid} (${low!.path})\n`), out);
    assert.ok(out.includes(`postmaster ${high!.pid} (${high!.path})\n`), out);
    assert.ok(out.indexOf(`postmaster ${low!.pid}`) < out.indexOf(`postmaster ${high!.pid}`));
    assert.ok(
      out.includes("\n0:1       importer  importer  running  4242  5s      0         -          1.25s  52.0 MiB\n"),
      out,
    );
    assert.match(out, /\(no workers\)\n/);
    assert.deepEqual(io.stderr, [
      `skipped stale control socket ${stale.path}: the postmaster that made it (pid ${stale.pid}) is gone\n`,
    ]);
  } finally {
    await a.close();
    await b.close();
  }
});

test("cli ps --json: one array of { postmasterPid, workers }, workers as they came", async () => {
  const workers = [workerEntry(), workerEntry({ bgw_name: "mailer", handle: { slot: 1, generation: 4 }, extra: 1 })];
  const server = await startFakeControlServer({ workers });
  try {
    const io = memoryIo(server.dir);
    assert.equal(await runCli(["ps", "--json", "--socket", server.path], io), EXIT_OK);
    assert.equal(io.stdout.length, 1);
    assert.deepEqual(JSON.parse(io.stdout[0]!), [{ postmasterPid: server.pid, workers }]);
  } finally {
    await server.close();
  }
  const empty = tempSocketDir();
  try {
    const io = memoryIo(empty);
    assert.equal(await runCli(["ps", "--json"], io), EXIT_UNREACHABLE);
    assert.match(io.stderr.join(""), /^bgworker: no postmaster found: looked in /);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test("cli ps --cluster: each cluster once, its hosts and every host's workers; a postmaster without one is noted", async () => {
  const view = (hostId: string) => ({
    cluster: "payments",
    hostId,
    hosts: [
      { hostId: "pod-1", maxWorkers: 4, workers: 1, leaseLeftMs: 9000 },
      { hostId: "pod-2", maxWorkers: 4, workers: 0, leaseLeftMs: 7000 },
    ],
    workers: [
      {
        handle: { cluster: "payments", slot: 0, generation: 3 },
        name: "mover",
        state: "started",
        hostId: "pod-1",
        pid: 4242,
        fence: "17",
      },
      {
        handle: { cluster: "payments", slot: 1, generation: 1 },
        name: "evil\x1b[2J",
        state: "waiting",
        hostId: null,
        pid: null,
        fence: "9",
      },
    ],
  });
  const a = await startFakeControlServer({ cluster: view("pod-1") });
  const b = await startFakeControlServer({ dir: a.dir, pid: process.ppid, cluster: view("pod-2") });
  try {
    const io = memoryIo(a.dir, NOW);
    assert.equal(await runCli(["ps", "--cluster"], io), EXIT_OK);
    const out = io.stdout.join("");
    assert.equal(out.match(/^cluster payments /gm)?.length, 1, out);
    assert.ok(out.includes("\nhost   workers  lease left\npod-1  1/4      9s\npod-2  0/4      7s\n"), out);
    assert.ok(out.includes("\npod-1  0:3       mover     started  4242  17\n"), out);
    assert.ok(out.includes("\n-      1:1       evil?[2J  waiting  -     9\n"), out);
    const json = memoryIo(a.dir, NOW);
    assert.equal(await runCli(["ps", "--cluster", "--json", "--socket", b.path], json), EXIT_OK);
    assert.deepEqual(JSON.parse(json.stdout.join("")), [view("pod-2")]);
  } finally {
    await a.close();
    await b.close();
  }
  const plain = await startFakeControlServer();
  try {
    const io = memoryIo(plain.dir, NOW);
    assert.equal(await runCli(["ps", "--cluster", "--socket", plain.path], io), EXIT_FAILED);
    assert.match(io.stderr.join(""), /no cluster option/);
  } finally {
    await plain.close();
  }
});

test("cli ps: one postmaster answering and one refusing is exit 1; a given socket's failure is its own exit code", async () => {
  const good = await startFakeControlServer({ workers: [workerEntry()] });
  const bad = await startFakeControlServer({ dir: good.dir, pid: process.ppid, refuse: { ps: "shutting down" } });
  try {
    let io = memoryIo(good.dir);
    assert.equal(await runCli(["ps", "--json"], io), EXIT_FAILED);
    assert.equal(JSON.parse(io.stdout[0]!).length, 1);
    assert.match(io.stderr.join(""), /refused: shutting down/);
    io = memoryIo(good.dir);
    assert.equal(await runCli(["ps", "--pid", String(bad.pid)], io), EXIT_UNREACHABLE); // not in the default directory
    io = memoryIo(good.dir);
    assert.equal(await runCli(["ps", "--socket", bad.path], io), EXIT_FAILED);
    assert.deepEqual(io.stderr, [`bgworker: the postmaster at ${bad.path} refused: shutting down\n`]);
  } finally {
    await good.close();
    await bad.close();
  }
});

test("cli logs: the last N lines, of one worker by name, formatted with time, level and worker", async () => {
  const lines = [log("ready"), log("imported 1200 rows", "importer", NOW + 1), log("sent", "mailer", NOW + 2)];
  const server = await startFakeControlServer({ logs: lines });
  try {
    let io = memoryIo(server.dir);
    assert.equal(await runCli(["logs", "-n", "2"], io), EXIT_OK);
    assert.equal(
      io.stdout.join(""),
      "2023-11-14T22:13:20.001Z LOG:  [4242] importer: imported 1200 rows\n2023-11-14T22:13:20.002Z LOG:  [4242] mailer: sent\n",
    );
    io = memoryIo(server.dir);
    assert.equal(await runCli(["logs", "importer"], io), EXIT_OK);
    assert.equal(io.stdout.length, 1);
    assert.deepEqual(server.requests.at(-1), { id: 1, op: "logs", lines: 100, follow: false, name: "importer" });
    assert.equal(formatLogLine({ message: "x" }), "- LOG:  x");
    assert.equal(formatLogLine(log("ready", null, 0)), "1970-01-01T00:00:00.000Z LOG:  ready");
  } finally {
    await server.close();
  }
});

test("cli logs -f: prints new lines until Ctrl-C, then exits 0", async () => {
  const server = await startFakeControlServer({ logs: [log("before")] });
  try {
    const io = memoryIo(server.dir);
    const running = runCli(["logs", "-f"], io);
    await server.followers(1);
    server.emitLog(log("after", "importer"));
    for (let i = 0; io.stdout.length < 2 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    io.interrupt();
    assert.equal(await running, EXIT_OK);
    assert.deepEqual(io.stdout.map((l) => l.replace(/^\S+ /, "")), [
      "LOG:  before\n",
      "LOG:  [4242] importer: after\n",
    ]);
    assert.deepEqual(io.stderr, []);
  } finally {
    await server.close();
  }
});

test("cli logs -f: ends with exit 0 and a note when the postmaster closes the stream", async () => {
  const server = await startFakeControlServer();
  try {
    const io = memoryIo(server.dir);
    const running = runCli(["logs", "--follow"], io);
    await server.followers(1);
    server.dropConnections();
    assert.equal(await running, EXIT_OK);
    assert.deepEqual(io.stderr, [`the postmaster at ${server.path} closed the connection\n`]);
  } finally {
    await server.close();
  }
});

test("cli terminate, reload, stop and metrics send their request and say what happened", async () => {
  const server = await startFakeControlServer({ metrics: "# TYPE bgworker_workers gauge\nbgworker_workers 2" });
  try {
    const run = async (argv: string[]) => {
      const io = memoryIo(server.dir);
      const code = await runCli(argv, io);
      return { code, out: io.stdout.join(""), err: io.stderr.join("") };
    };
    assert.deepEqual(await run(["terminate", "2:7"]), {
      code: EXIT_OK,
      out: `postmaster ${server.pid}: terminating worker 2:7\n`,
      err: "",
    });
    assert.deepEqual(await run(["reload"]), {
      code: EXIT_OK,
      out: `postmaster ${server.pid}: sent SIGHUP to its workers\n`,
      err: "",
    });
    assert.deepEqual(await run(["stop", "immediate"]), {
      code: EXIT_OK,
      out: `postmaster ${server.pid}: stopping (immediate)\n`,
      err: "",
    });
    assert.deepEqual(await run(["metrics"]), {
      code: EXIT_OK,
      out: "# TYPE bgworker_workers gauge\nbgworker_workers 2\n",
      err: "",
    });
    assert.deepEqual(server.requests, [
      { id: 1, op: "terminate", handle: { slot: 2, generation: 7 } },
      { id: 1, op: "reload" },
      { id: 1, op: "stop", mode: "immediate" },
      { id: 1, op: "metrics" },
    ]);
  } finally {
    await server.close();
  }
  const refusing = await startFakeControlServer({ refuse: { terminate: "no worker has handle 9:9" } });
  try {
    const io = memoryIo(refusing.dir);
    assert.equal(await runCli(["terminate", "9:9"], io), EXIT_FAILED);
    assert.deepEqual(io.stderr, [`bgworker: the postmaster at ${refusing.path} refused: no worker has handle 9:9\n`]);
  } finally {
    await refusing.close();
  }
});

test("cli: commands that need one postmaster list them when there are several (exit 2)", async () => {
  const a = await startFakeControlServer();
  const b = await startFakeControlServer({ dir: a.dir, pid: process.ppid });
  try {
    for (const command of ["logs", "reload", "stop", "metrics", "terminate 0:1"]) {
      const io = memoryIo(a.dir);
      assert.equal(await runCli(command.split(" "), io), EXIT_USAGE, command);
      assert.match(
        io.stderr.join(""),
        new RegExp(`several postmasters found in .*${a.pid}|several postmasters found in .*${b.pid}`),
      );
    }
    assert.deepEqual([...a.requests, ...b.requests], []);
  } finally {
    await a.close();
    await b.close();
  }
});

test("cli: help, no command, unknown command; the real process's io", async () => {
  let io = memoryIo("/nonexistent");
  assert.equal(await runCli(["--help"], io), EXIT_OK);
  assert.equal(io.stdout.join(""), helpText(null));
  assert.match(
    helpText(null),
    /Exit codes:\n {2}0 {2}done.*\n[\s\S]* {2}1 {2}.*\n[\s\S]* {2}2 {2}usage error.*\n[\s\S]* {2}3 {2}no postmaster reachable/,
  );
  for (const command of ["ps", "logs", "terminate", "reload", "stop", "metrics", "health"] as const) {
    io = memoryIo("/nonexistent");
    assert.equal(await runCli([command, "--help"], io), EXIT_OK);
    assert.equal(io.stdout.join(""), helpText(command));
    assert.match(helpText(command), new RegExp(`^Usage: bgworker ${command}`));
  }
  io = memoryIo("/nonexistent");
  assert.equal(await runCli([], io), EXIT_USAGE);
  assert.equal(io.stderr.join(""), helpText(null));
  io = memoryIo("/nonexistent");
  assert.equal(await runCli(["sp"], io), EXIT_USAGE);
  assert.deepEqual(io.stderr, ['bgworker: unknown command "sp"; did you mean "ps"?; see bgworker --help\n']);

  const real = processIo();
  assert.equal(real.directory, controlSocketDirectory());
  assert.ok(Math.abs(real.now() - Date.now()) < 1000);
  const stop = real.onInterrupt(() => {});
  stop();
});

test("cli commands called directly: exit codes returned, failures thrown as CliError for runCli to print", async () => {
  const server = await startFakeControlServer({ metrics: undefined, refuse: { reload: "not now" } });
  const base = { help: false, target: { socket: server.path }, timeoutMs: 2000 } as const;
  try {
    const io = memoryIo(server.dir);
    assert.equal(await runPs({ ...base, command: "ps", json: true, cluster: false }, io), EXIT_OK);
    assert.equal(await runLogs({ ...base, command: "logs", follow: false, lines: 1, name: null }, io), EXIT_OK);
    assert.equal(await runStop({ ...base, command: "stop", mode: "smart" }, io), EXIT_OK);
    assert.equal(
      await runTerminate({ ...base, command: "terminate", handle: { slot: 1, generation: 2 } }, io),
      EXIT_OK,
    );
    assert.equal(await runMetrics({ ...base, command: "metrics" }, io), EXIT_OK);
    assert.deepEqual(io.stdout.slice(-1), [""]); // no metrics yet: nothing printed, not a lone newline
    await assert.rejects(
      runReload({ ...base, command: "reload" }, io),
      (e: unknown) => e instanceof CliError && e.exitCode === EXIT_FAILED && /refused: not now$/.test(e.message),
    );
  } finally {
    await server.close();
  }
});
