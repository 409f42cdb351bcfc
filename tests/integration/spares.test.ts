import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STOPPED } from "../../mod.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { reportFile } from "../helpers/report.ts";
import { isAlive } from "../helpers/same_runtime.ts";

const PROBES = new URL("../fixtures/probes.ts", import.meta.url).href;
const READY = /^DEBUG1: {2}spare worker process \(PID (\d+)\) is ready$/;

test("real processes: a registration runs in a booted spare, with its entry by value; the spare is replaced, and all die with stop()", async () => {
  const { pm, logs, notes, until } = realPostmaster({ spareWorkerProcesses: 1 });
  const readyPids = () => logs.flatMap((l) => READY.exec(l)?.[1] ?? []).map(Number);
  await pm.start();
  await until("a spare to be ready", () => readyPids().length === 1);
  const [sparePid] = readyPids();
  const report = reportFile();
  const handle = pm.registerDynamicBackgroundWorker(
    fixture("from a spare", "entryProbe", {
      bgw_library_name: PROBES,
      bgw_notify_pid: pm.pid,
      bgw_extra: report.extra,
      bgw_main_arg: 42,
    }),
  )!;
  await until(
    "the worker to finish",
    () => notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED),
  );
  const seen = report.read<{ myProcPid: number; mainArg: number; name: string }>();
  assert.equal(seen.myProcPid, sparePid, "the worker ran in the spare booted before the registration");
  assert.equal(seen.mainArg, 42);
  assert.equal(seen.name, "from a spare");
  await until("a new spare", () => readyPids().length === 2);
  const replacement = readyPids()[1]!;
  assert.notEqual(replacement, sparePid);
  await pm.stop("fast");
  assert.ok(!isAlive(replacement), "a spare dies with the postmaster");
  assert.ok(!logs.some((l) => l.includes("exited unused")), logs.join("\n"));
});
