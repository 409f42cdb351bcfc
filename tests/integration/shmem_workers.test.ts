import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BackgroundWorker, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS, type Postmaster } from "../../mod.ts";
import { bootstrapPath } from "../../runtimes/shared/bootstrap_path.ts";
import { createProcessAdapter } from "../../runtimes/shared/process_adapter.ts";
import { COUNTERS, LOCKS } from "../fixtures/shm_workers.ts";
import { type Harness, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";
import { reportFile } from "../helpers/report.ts";
import { firstLine, isAlive, spawnSameRuntime } from "../helpers/same_runtime.ts";
import { commandsFor } from "../helpers/shm.ts";

const SHM_WORKERS = new URL("../fixtures/shm_workers.ts", import.meta.url).href;
const SHM_POSTMASTER = fileURLToPath(new URL("../fixtures/shm_postmaster.ts", import.meta.url));
const ITERATIONS = 20_000;
const SHMEM = BGWORKER_SHMEM_ACCESS;
// bgworker maps POSIX shared memory through Linux's C library, and these tests read Linux's /dev/shm.
const LINUX_ONLY = {
  skip: process.platform === "linux" ? false : "POSIX shared memory is mapped through Linux's C library only",
};

function shmWorker(name: string, fn: string, overrides: Partial<BackgroundWorker> = {}): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: SHMEM,
    bgw_start_time: 0,
    bgw_restart_time: -1,
    bgw_library_name: SHM_WORKERS,
    bgw_function_name: fn,
    ...overrides,
  };
}

/** This postmaster's segments, as Linux lists them in /dev/shm. */
const segmentsOf = (pid: number) =>
  readdirSync("/dev/shm").filter((file) => file.startsWith(`bgworker.${pid}.`)).sort();

/** What `_PG_init` and the `shmemStartup` hook of the counting tests do: the lock tranche, and the counters with the number of counting processes. */
function setUpCounters(pm: Postmaster, processes: number): void {
  pm.requestAddinShmemSpace(COUNTERS.size);
  pm.requestNamedLWLockTranche(LOCKS, 2);
  pm.on("shmemStartup", () => {
    const { buffer, found } = pm.shmemInitStruct(COUNTERS.name, COUNTERS.size);
    assert.equal(found, false);
    Atomics.store(new Int32Array(buffer), COUNTERS.processes, processes);
  });
}

/** Start the counters, wait until every one has stopped, and read the totals. */
async function countWith({ pm, notes, until }: Harness, names: string[]): Promise<Int32Array> {
  await pm.start();
  const handles = names.map((name) =>
    pm.registerDynamicBackgroundWorker(
      shmWorker(name, "countTogether", { bgw_main_arg: ITERATIONS, bgw_notify_pid: pm.pid }),
    )!
  );
  await until(
    "every counter to finish",
    () => handles.every((h) => notes.some((n) => sameHandle(n.handle, h) && n.status === BGWH_STOPPED)),
    60_000,
  );
  return new Int32Array(pm.shmemInitStruct(COUNTERS.name, COUNTERS.size).buffer);
}

test(
  "shared memory: workers count concurrently on one struct, with Atomics and under an LWLock, and no update is lost",
  LINUX_ONLY,
  async () => {
    const harness = realPostmaster();
    setUpCounters(harness.pm, 3);
    const words = await countWith(harness, ["counter 1", "counter 2", "counter 3"]);
    assert.ok(!harness.logs.some((l) => /^(ERROR|FATAL)/.test(l)), harness.logs.join("\n"));
    assert.equal(Atomics.load(words, COUNTERS.atomic), 3 * ITERATIONS, "Atomics.add across processes");
    assert.equal(Atomics.load(words, COUNTERS.locked), 3 * ITERATIONS, "plain increments under the exclusive lock");
    await harness.pm.stop();
  },
);

test(
  "shared memory, mixed runtimes: the segment this runtime's postmaster made is used by Node, Deno and Bun workers at once",
  LINUX_ONLY,
  async () => {
    // One postmaster, each worker on the runtime its name ends with: the adapter picks the command per worker.
    const runtimeCommands = commandsFor(bootstrapPath());
    const adapter = createProcessAdapter((start) => {
      const runtime = /on (\w+)"/.exec(start?.entry ?? "")?.[1] ?? "node";
      const [execPath, args] = runtimeCommands[runtime]!;
      return { execPath, args };
    });
    const harness = realPostmaster({ adapter });
    setUpCounters(harness.pm, 3);
    const words = await countWith(harness, ["counter on node", "counter on deno", "counter on bun"]);
    assert.ok(!harness.logs.some((l) => /^(ERROR|FATAL)/.test(l)), harness.logs.join("\n"));
    assert.equal(Atomics.load(words, COUNTERS.atomic), 3 * ITERATIONS);
    assert.equal(Atomics.load(words, COUNTERS.locked), 3 * ITERATIONS);
    await harness.pm.stop();
  },
);

test(
  "shared memory: a crash of a worker with the flag recreates the segment, zeroed, and no segment is ever left named in /dev/shm",
  LINUX_ONLY,
  async () => {
    const { pm, logs, until } = realPostmaster();
    const startups: boolean[] = [];
    pm.on("shmemStartup", ({ reinitialized }) => startups.push(reinitialized));
    // Other postmasters in this process have the same pid (Bun runs every test file in one process).
    const others = new Set(segmentsOf(pm.pid));
    const ours = () => segmentsOf(pm.pid).filter((name) => !others.has(name));
    await pm.start();
    assert.deepEqual(ours(), [], "the segment's name is removed as soon as it is made: only descriptors hold it");
    const report = reportFile();
    // Restartable (60 s): only the crash cycle's immediate restart brings it back within the test.
    pm.registerDynamicBackgroundWorker(
      shmWorker("marker", "markThenCrash", { bgw_restart_time: 60, bgw_extra: report.extra }),
    );
    await until(
      "the restarted marker to finish",
      () => logs.some((l) => /background worker "marker" \(PID \d+\) exited with exit code 0/.test(l)),
    );
    assert.ok(logs.includes("LOG:  all server processes terminated; reinitializing"), logs.join("\n"));
    assert.deepEqual(
      report.read(),
      [{ found: false, value: 0 }, { found: false, value: 0 }],
      "the mark of 42 died with the old segment",
    );
    assert.deepEqual(startups, [false, true]);
    assert.deepEqual(ours(), [], "nothing named after the crash either");
    const { found } = pm.shmemInitStruct("after the crash", 64);
    assert.equal(found, false, "the postmaster maps the new segment");
    await pm.stop();
    assert.deepEqual(ours(), []);
  },
);

test(
  "shared memory: a worker leaving with an error or by SIGTERM releases the LWLocks it holds",
  LINUX_ONLY,
  async () => {
    const { pm, notes, logs, until } = realPostmaster();
    pm.requestNamedLWLockTranche(LOCKS, 2);
    await pm.start();
    const [first, second] = pm.getNamedLWLockTranche(LOCKS);
    const thrower = pm.registerDynamicBackgroundWorker(
      shmWorker("thrower", "throwWhileHoldingLock", { bgw_notify_pid: pm.pid }),
    )!;
    const napper = pm.registerDynamicBackgroundWorker(
      shmWorker("napper", "napWhileHoldingLock", { bgw_notify_pid: pm.pid }),
    )!;
    await until(
      "the thrower to exit",
      () => notes.some((n) => sameHandle(n.handle, thrower) && n.status === BGWH_STOPPED),
    );
    assert.ok(first!.conditionalAcquire("exclusive"), "the thrower's lock is free again");
    first!.release();
    await until("the napper to hold its lock", () => logs.includes("LOG:  napper holds its lock"));
    assert.equal(second!.conditionalAcquire("shared"), false, "held exclusively by the napper");
    pm.terminateBackgroundWorker(napper);
    assert.equal(await pm.waitForBackgroundWorkerShutdown(napper), BGWH_STOPPED);
    assert.ok(second!.conditionalAcquire("exclusive"), "the terminated worker's lock is free again");
    second!.release();
    await pm.stop();
  },
);

test(
  "shared memory: a worker without BGWORKER_SHMEM_ACCESS gets a typed error naming the worker and bgw_flags",
  LINUX_ONLY,
  async () => {
    const { pm, notes, until } = realPostmaster();
    pm.requestNamedLWLockTranche(LOCKS, 1);
    await pm.start();
    const report = reportFile();
    const handle = pm.registerDynamicBackgroundWorker(
      shmWorker("no flag", "shmemWithoutFlag", { bgw_flags: 0, bgw_notify_pid: pm.pid, bgw_extra: report.extra }),
    )!;
    await until(
      "the worker to finish",
      () => notes.some((n) => sameHandle(n.handle, handle) && n.status === BGWH_STOPPED),
    );
    const outcomes = report.read<{ name: string; worker: string; field: string; message: string }[]>();
    assert.equal(outcomes.length, 2);
    for (
      const [call, outcome] of [["shmemInitStruct", outcomes[0]!], ["getNamedLWLockTranche", outcomes[1]!]] as const
    ) {
      assert.deepEqual({ name: outcome.name, worker: outcome.worker, field: outcome.field }, {
        name: "BackgroundWorkerError",
        worker: "no flag",
        field: "bgw_flags",
      });
      assert.equal(
        outcome.message,
        `background worker "no flag": ${call}: cannot use shared memory without BGWORKER_SHMEM_ACCESS`,
      );
    }
    await pm.stop();
  },
);

test(
  "shared memory: a SIGKILLed postmaster leaves no segment named in /dev/shm, and its workers mapped it all the same",
  LINUX_ONLY,
  async () => {
    const killed = spawnSameRuntime(SHM_POSTMASTER);
    const { postmaster, worker } = JSON.parse(await firstLine(killed)) as { postmaster: number; worker: number };
    assert.ok(worker > 0, "a worker with the flag mapped the segment");
    assert.deepEqual(segmentsOf(postmaster), [], "nothing named while it runs");
    const reaped = new Promise((resolve) => killed.on("exit", resolve));
    killed.kill("SIGKILL");
    await reaped;
    assert.deepEqual(segmentsOf(postmaster), [], "nothing named after its SIGKILL, with no next postmaster needed");
    assert.ok(!isAlive(postmaster));
  },
);

test(
  "shared memory: a postmaster process that exits without stop() removes its segment on the way out",
  LINUX_ONLY,
  async () => {
    const exiting = spawnSameRuntime(SHM_POSTMASTER, ["exit"]);
    const exited = new Promise((resolve) => exiting.on("exit", resolve));
    const { postmaster } = JSON.parse(await firstLine(exiting)) as { postmaster: number };
    assert.equal(await exited, 0);
    assert.deepEqual(segmentsOf(postmaster), []);
  },
);
