import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { BGWH_STOPPED, type LogContext, type WorkerEvent } from "../../mod.ts";
import { fixture, type Harness, realPostmaster } from "../helpers/real_postmaster.ts";

const OPS = new URL("../fixtures/ops_workers.ts", import.meta.url).href;

/** Every worker event the postmaster emits, each one also waking the harness's pending waits. */
function recordEvents({ pm, recheck }: Harness): WorkerEvent[] {
  const events: WorkerEvent[] = [];
  pm.on("worker", (event) => {
    events.push(event);
    recheck();
  });
  return events;
}

test("terminate that terminates, real processes: a worker whose signals stay blocked is warned about and killed", async () => {
  const { pm, logs } = realPostmaster({ stopTimeoutMs: 300 });
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("forgetful", "neverUnblocks", { bgw_library_name: OPS, bgw_notify_pid: pm.pid }),
    )!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    pm.terminateBackgroundWorker(handle);
    assert.equal(await pm.waitForBackgroundWorkerShutdown(handle), BGWH_STOPPED);
    assert.ok(
      logs.includes(
        `WARNING:  background worker "forgetful" (PID ${pid}) did not exit within 300 ms of terminateBackgroundWorker; its signals may still be blocked (backgroundWorkerUnblockSignals()); sending SIGKILL`,
      ),
      logs.join("\n"),
    );
    assert.ok(logs.includes(`LOG:  background worker "forgetful" (PID ${pid}) was terminated by signal 9: Killed`));
  } finally {
    await pm.stop("immediate");
  }
});

test("worker events and status, real processes: a worker that exits 1 is restarted, and says so", async () => {
  const harness = realPostmaster();
  const { pm, until } = harness;
  const events = recordEvents(harness);
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("bouncer", "exitWith", { bgw_main_arg: 1, bgw_restart_time: 0.05, bgw_notify_pid: pm.pid }),
    )!;
    await until("two exits", () => events.filter((e) => e.kind === "exited").length >= 2);
    const kinds = events.map((e) => e.kind);
    assert.deepEqual(kinds.slice(0, 5), ["registered", "started", "exited", "restart_scheduled", "started"]);
    const status = pm.backgroundWorkers().find((w) => w.bgw_name === "bouncer")!;
    assert.ok(status.restarts >= 1, `restarts: ${status.restarts}`);
    assert.equal(status.lastExit?.code, 1);
    pm.terminateBackgroundWorker(handle);
    await until("unregistered", () => events.some((e) => e.kind === "unregistered"));
  } finally {
    await pm.stop("immediate");
  }
});

test("status, real processes: a running worker's memory and CPU from /proc", {
  skip: process.platform === "linux" ? false : "read from Linux's /proc",
}, async () => {
  const { pm } = realPostmaster();
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(fixture("measured", "napper", { bgw_notify_pid: pm.pid }))!;
    await pm.waitForBackgroundWorkerStartup(handle);
    const status = pm.backgroundWorkers()[0]!;
    assert.equal(status.state, "running");
    assert.ok(status.rssBytes !== null && status.rssBytes > 1_000_000, `rssBytes: ${status.rssBytes}`);
    assert.ok(status.cpuSeconds !== null && status.cpuSeconds >= 0, `cpuSeconds: ${status.cpuSeconds}`);
    assert.ok(status.startedAt !== null && status.startedAt <= Date.now());
  } finally {
    await pm.stop("immediate");
  }
});

test("restart policy, real processes: backoff spaces the restarts, intensity fails the worker, with the reason", async () => {
  const harness = realPostmaster();
  const { pm, logs, until } = harness;
  const events = recordEvents(harness);
  await pm.start();
  try {
    pm.registerDynamicBackgroundWorker(fixture("flapper", "exitWith", { bgw_main_arg: 1, bgw_restart_time: 0.1 }), {
      restart: {
        backoff: { factor: 2, maxSeconds: 0.4, resetAfterSeconds: 60 },
        intensity: { maxRestarts: 4, withinSeconds: 60 },
      },
    });
    await until("the worker to fail", () => events.some((e) => e.kind === "failed"), 30_000);
    const scheduled = events.filter((e) => e.kind === "restart_scheduled");
    const waits = scheduled.map((e) => e.kind === "restart_scheduled" ? e.restartAt - e.at : NaN);
    // restartAt is set a moment before the event is stamped: allow the milliseconds between the two clock reads.
    assert.equal(waits.length, 4, `restart waits: ${waits}`);
    [100, 200, 400, 400].forEach((expected, i) => {
      assert.ok(
        waits[i]! <= expected && waits[i]! >= expected - 5,
        `restart ${i + 1} waits ${waits[i]} ms, expected ${expected} (bgw_restart_time × 2^(n-1), at most 0.4 s)`,
      );
    });
    // Each start came no sooner than its schedule said (and, as a bound for a hung test, within a few seconds).
    const starts = events.filter((e) => e.kind === "started").map((e) => e.at);
    assert.equal(starts.length, 5, "the first start and four restarts");
    scheduled.forEach((e, i) => {
      const restartAt = e.kind === "restart_scheduled" ? e.restartAt : NaN;
      assert.ok(starts[i + 1]! >= restartAt - 5, `restart ${i + 1} came ${restartAt - starts[i + 1]!} ms early`);
    });
    assert.ok(
      logs.some((l) => /background worker "flapper" will not be restarted: restarted 4 times within 60 s/.test(l)),
    );
    assert.equal(pm.backgroundWorkers()[0]!.state, "failed");
  } finally {
    await pm.stop("immediate");
  }
});

test("env and cwd, real processes: the worker sees both; a cwd that does not exist is refused at registration", async () => {
  const { pm, logs, until } = realPostmaster();
  await pm.start();
  try {
    const dir = (await import("node:os")).tmpdir();
    const real = (await import("node:fs")).realpathSync(dir);
    pm.registerDynamicBackgroundWorker(fixture("placed", "reportEnvAndCwd", { bgw_library_name: OPS }), {
      env: { BGW_TEST_MODE: "batch" },
      cwd: dir,
    });
    await until("the report", () => logs.some((l) => l.startsWith("LOG:  mode=")));
    assert.ok(logs.includes(`LOG:  mode=batch cwd=${real}`), logs.filter((l) => l.includes("mode=")).join("\n"));
    assert.throws(
      () => pm.registerDynamicBackgroundWorker(fixture("nowhere", "napper"), { cwd: "/no/such/directory" }),
      /background worker "nowhere": cwd is not a directory/,
    );
  } finally {
    await pm.stop("immediate");
  }
});

test("worker output, real processes: 100,000 lines and a 10 MB line reach the logger, each with the worker named", async () => {
  const lines: { level: string; message: string; context?: LogContext }[] = [];
  let done = false;
  const { pm, until, recheck } = realPostmaster({
    logger: (level, message, context) => {
      if (context?.stream === "stdout" || context?.stream === "stderr") lines.push({ level, message, context });
      if (context?.stream === "stderr") done = true;
      recheck();
    },
  });
  await pm.start();
  try {
    const handle = pm.registerDynamicBackgroundWorker(
      fixture("printer", "printsLines", { bgw_library_name: OPS, bgw_main_arg: 100_000, bgw_notify_pid: pm.pid }),
    )!;
    const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
    await until("the last line", () => done, 60_000);
    const stdout = lines.filter((l) => l.context?.stream === "stdout");
    assert.equal(stdout.length, 100_000 + 2, "every line, the long one and the malformed one");
    assert.equal(stdout[0]!.message, "line 1");
    assert.equal(stdout[99_999]!.message, "line 100000");
    const long = stdout[100_000]!.message;
    assert.match(long, /\[cut: the line was longer than 1 MiB\]$/);
    assert.ok(long.length < 1024 * 1024 + 100, `the long line was cut: ${long.length} characters`);
    assert.equal(stdout[100_001]!.message, "bad\uFFFD\uFFFD", "invalid UTF-8 arrives as well-formed text");
    assert.deepEqual(stdout[0]!.context!.worker, {
      name: "printer",
      type: "printer",
      pid,
      slot: handle.slot,
      generation: handle.generation,
    });
    assert.deepEqual(lines.at(-1)!.message, "to stderr");
  } finally {
    await pm.stop("immediate");
  }
});
