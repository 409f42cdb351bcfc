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

test("real processes: a spare imports the spareWorkerLibraries ahead; a worker of one starts with it loaded, its top level run once", async () => {
  const PRELOADED = new URL("../fixtures/preloaded_worker.ts", import.meta.url).href;
  const { pm, logs, until } = realPostmaster({ spareWorkerProcesses: 1, spareWorkerLibraries: [PRELOADED] });
  await pm.start();
  try {
    // Before any registration: the spare's import of the library has run its top level.
    await until(
      "the spare to import the library",
      () => logs.some((l) => /top level of preloaded_worker in \d+$/.test(l)),
    );
    const spare = Number(/in (\d+)$/.exec(logs.find((l) => /top level of preloaded_worker/.test(l))!)![1]);
    assert.ok(pm.registerDynamicBackgroundWorker(fixture("preloaded", "main", { bgw_library_name: PRELOADED })));
    await until("main to run", () => logs.some((l) => /main of preloaded_worker in \d+$/.test(l)));
    assert.ok(
      logs.includes(`LOG:  main of preloaded_worker in ${spare}`),
      "main ran in the spare that had the library",
    );
    assert.equal(
      logs.filter((l) => l.endsWith(`top level of preloaded_worker in ${spare}`)).length,
      1,
      "the worker's own import found the module the spare had loaded: its top level ran once",
    );
  } finally {
    await pm.stop("immediate");
  }
});
