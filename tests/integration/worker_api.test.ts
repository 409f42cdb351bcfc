import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { BGWH_STARTED, BGWH_STOPPED, WL_LATCH_SET, WL_TIMEOUT } from "../../mod.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { reportFile } from "../helpers/report.ts";

const PROBES = new URL("../fixtures/probes.ts", import.meta.url).href;

/** Run one probe as a dynamic worker to its end and return its report. */
async function runProbe(fn: string, overrides = {}) {
  const report = reportFile();
  const h = realPostmaster();
  await h.pm.start();
  const handle = h.pm.registerDynamicBackgroundWorker(
    fixture(fn, fn, { bgw_library_name: PROBES, bgw_notify_pid: h.pm.pid, bgw_extra: report.extra, ...overrides }),
  )!;
  await h.until(
    `${fn} to finish`,
    () => h.notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED),
  );
  const started = h.notes.find((n) => sameHandle(n.handle, handle) && n.status === BGWH_STARTED);
  await h.pm.stop();
  return { report: report.read(), logs: h.logs, pid: started?.pid };
}

test("real processes: the worker rebuilds its entry by value, frozen, with its main argument, pid and postmaster", async () => {
  const { report, pid, logs } = await runProbe("entryProbe", {
    bgw_type: "probe type",
    bgw_main_arg: 2n ** 60n,
    bgw_restart_time: 7.5,
  });
  assert.deepEqual(report, {
    mainArg: `${2n ** 60n}n`,
    entryMainArg: `${2n ** 60n}n`,
    name: "entryProbe",
    type: "probe type",
    flags: 0,
    restart: 7.5,
    extraLength: 128,
    frozen: true,
    myProcPid: pid,
    pid,
    postmasterAlive: true,
  });
  assert.ok(!logs.some((l) => l.startsWith("LOG:  background worker")), "returning from main is a clean exit 0");
});

test("real processes: a worker registers a dynamic worker notifying itself, is told of its start, waits, terminates it and sees it stop", async () => {
  const { report, logs } = await runProbe("parentOfDynamic");
  const r = report as {
    refused: unknown;
    handle: { slot: number; generation: number };
    started: { status: number; pid: number };
    latchAfterStart: number;
    polled: { status: number; pid: number };
    stopped: number;
    after: { status: number; pid: number | null };
  };
  const refused = r.refused as { worker: string; field: string; message: string };
  assert.equal(refused.worker, "child of a worker");
  assert.equal(refused.field, "bgw_main_arg");
  assert.match(refused.message, /by value/);
  assert.equal(r.started.status, BGWH_STARTED);
  assert.ok(r.started.pid > 0);
  assert.equal(
    r.latchAfterStart & WL_LATCH_SET,
    WL_LATCH_SET,
    "the start notification set the registering worker's latch",
  );
  assert.deepEqual(r.polled, r.started);
  assert.equal(r.stopped, BGWH_STOPPED);
  assert.deepEqual(r.after, { status: BGWH_STOPPED, pid: null });
  assert.ok(
    logs.includes(`LOG:  background worker "child of a worker" (PID ${r.started.pid}) exited with exit code 1`),
    logs.join("\n"),
  );
});

test("real processes: signals are held until unblocked (and again after backgroundWorkerBlockSignals), SIGHUP reaches a pqsignal handler, SIGUSR1 sets the latch, SIGINT is ignored, WL_TIMEOUT fires", async () => {
  const { report } = await runProbe("signalProbe");
  assert.deepEqual(report, {
    whileHeld: WL_TIMEOUT,
    seenWhileHeld: [],
    afterUnblock: WL_LATCH_SET,
    afterSigusr1: WL_LATCH_SET,
    quiet: WL_TIMEOUT,
    whileReblocked: WL_TIMEOUT,
    seenWhileReblocked: 1,
    afterSecondUnblock: WL_LATCH_SET,
    seen: ["SIGHUP", "SIGHUP"],
    postmasterAlive: true,
  });
});

test("real processes: the process title shows bgw_type and bgw_name", {
  skip: process.platform !== "linux" && "reads /proc, which only Linux has",
}, async () => {
  const { pm, logs } = realPostmaster();
  await pm.start();
  const handle = pm.registerDynamicBackgroundWorker(
    fixture("titled 1", "napper", { bgw_type: "titled", bgw_notify_pid: pm.pid }),
  )!;
  const { pid } = await pm.waitForBackgroundWorkerStartup(handle);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  assert.ok(cmdline.startsWith("bgworker: titled titled 1"), `${JSON.stringify(cmdline)}\n${logs.join("\n")}`);
  await pm.stop("fast");
});
