/**
 * SIGTERM timed into the race of src/worker/sigterm_route.ts: a worker
 * removes its SIGTERM listener so that the kernel's default action ends it,
 * and a SIGTERM its runtime caught just before is dropped with the
 * listener; the postmaster's announcement must bring it back. Real
 * processes, many rounds, terminateBackgroundWorker landing before, in and
 * after the moment: a worker whose signals are held until the SIGTERM was
 * sent (the listener, which goes only after the event loop's next poll,
 * must take it), one that holds its event loop in the very turn the
 * listener goes until the SIGTERM was sent (the race, forced where timers
 * run in the order queued), one whose busy unblock the SIGTERM hits at a
 * jittered time, and two that move SIGTERM between the listener and the
 * kernel all the time (signals blocked and unblocked, an LWLock taken and
 * released). Every worker must be stopped within a bound, its exit counted
 * as 1 with PostgreSQL's FATAL line, and no SIGKILL needed: none lost. The
 * kernel's action is opt-in (BGWORKER_KERNEL_SIGTERM=1), so every round but
 * a few held ones opts in; those keep the default, the listener, which then
 * never goes, so none is dropped, and the exit is the same.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import {
  type BackgroundWorkerHandle,
  BGW_NEVER_RESTART,
  BGWH_STARTED,
  BGWH_STOPPED,
  BGWORKER_SHMEM_ACCESS,
  type LogLevel,
  Postmaster,
} from "../../mod.ts";
import { RACE } from "../fixtures/terminate_race_workers.ts";
import { KERNEL_SIGTERM_VARIABLE } from "../../runtimes/shared/worker_port.ts";

const RACE_WORKERS = new URL("../fixtures/terminate_race_workers.ts", import.meta.url).href;
/** Terminate → BGWH_STOPPED within this, or the SIGTERM counts as lost (the SIGKILL of the stop timeout is far later). */
const STOPPED_WITHIN_MS = 3000;
const STOP_TIMEOUT_MS = 20_000;
const TYPE = "terminate race";
const FATAL = `terminating background worker "${TYPE}" due to administrator command`;
const RECOVERED = "a SIGTERM from the postmaster did not reach this worker's handlers; delivering it now";
/** How long the jittered worker holds its event loop before it lets signals through. */
const SPIN_MS = 3;

type Mode =
  | "held until terminated"
  | "dropped at the removal"
  | "jittered unblock"
  | "churning signals"
  | "churning lock"
  | "switched off";
/** Rounds per mode, in this order; each mode's rounds run a few at a time. */
const ROUNDS: [Mode, number][] = [
  ["held until terminated", 12],
  ["dropped at the removal", 12],
  ["jittered unblock", 20],
  ["churning signals", 8],
  ["churning lock", 8],
  ["switched off", 4],
];
const AT_ONCE = 4;

// bgworker maps POSIX shared memory through Linux's C library; the forced race and the lock need it.
const LINUX_ONLY = {
  skip: process.platform === "linux" ? false : "POSIX shared memory is mapped through Linux's C library only",
};

interface Line {
  level: LogLevel;
  message: string;
  pid: number | null;
}

/** Hold the postmaster's event loop for `ms`: the jitter, finer than a timer's millisecond. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // nothing
  }
}

function withBound<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function racePostmaster() {
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  const pm = new Postmaster({
    logger: (level, message, context) => {
      lines.push({ level, message, pid: context?.worker?.pid ?? null });
      for (const check of [...waiters]) check();
    },
    maxWorkerProcesses: 8,
    stopTimeoutMs: STOP_TIMEOUT_MS,
    spareWorkerProcesses: 2,
    spareWorkerLibraries: [RACE_WORKERS],
  });
  pm.requestAddinShmemSpace(RACE.words * 4);
  pm.requestNamedLWLockTranche(RACE.locks, RACE.words);
  let words: Int32Array | null = null;
  pm.on("shmemStartup", () => words = new Int32Array(pm.shmemInitStruct(RACE.struct, RACE.words * 4).buffer));
  const log = () => lines.map((l) => `${l.level}: [${l.pid ?? "pm"}] ${l.message}`).join("\n");
  /** Resolves when worker `pid` has logged `message`. */
  const line = (pid: number, message: string) =>
    withBound(
      new Promise<void>((resolve) => {
        const check = () => {
          if (!lines.some((l) => l.pid === pid && l.message === message)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
      STOPPED_WITHIN_MS * 3,
      () => `"${message}" from PID ${pid}; log:\n${log()}`,
    );
  return { pm, lines, line, log, words: () => words! };
}

const FUNCTIONS: Record<Mode, string> = {
  "held until terminated": "unblockOnceTerminated",
  "dropped at the removal": "dropAtRemoval",
  "jittered unblock": "unblockAfterSpin",
  "churning signals": "churnSignals",
  "churning lock": "churnLock",
  "switched off": "unblockOnceTerminated",
};
const READY: Record<Mode, string> = {
  "held until terminated": "holding signals until terminated",
  "dropped at the removal": "holding the removal's turn",
  "jittered unblock": "about to spin",
  "churning signals": "churning",
  "churning lock": "churning",
  "switched off": "holding signals until terminated",
};

test(
  "real processes: SIGTERM timed into the moment the listener goes for the kernel's action is never lost",
  LINUX_ONLY,
  async () => {
    const h = racePostmaster();
    const { pm, lines } = h;
    await pm.start();
    let round = 0;
    const outcomes: { mode: Mode; pid: number; recovered: boolean; ms: number }[] = [];

    async function run(mode: Mode, i: number, index: number): Promise<void> {
      const handle: BackgroundWorkerHandle = pm.registerDynamicBackgroundWorker({
        bgw_name: `${mode} ${i}`,
        bgw_type: TYPE,
        bgw_flags: BGWORKER_SHMEM_ACCESS,
        bgw_start_time: 0,
        bgw_restart_time: BGW_NEVER_RESTART,
        bgw_library_name: RACE_WORKERS,
        bgw_function_name: FUNCTIONS[mode],
        bgw_main_arg: mode === "jittered unblock" ? SPIN_MS : index,
        bgw_notify_pid: pm.pid,
      }, { env: { [KERNEL_SIGTERM_VARIABLE]: mode === "switched off" ? "0" : "1" } })!;
      assert.ok(handle, "a free slot");
      const { status, pid } = await pm.waitForBackgroundWorkerStartup(handle);
      assert.equal(status, BGWH_STARTED);
      await h.line(pid!, READY[mode]);
      // From the line's arrival: before, in and after the worker's unblock (it spins SPIN_MS after sending the line).
      if (mode === "jittered unblock") spin((i % 12) * (SPIN_MS + 1.5) / 11);
      if (mode.startsWith("churning")) spin((i % 8) * 0.25);
      const t0 = performance.now();
      pm.terminateBackgroundWorker(handle);
      // The SIGTERM is on its way (kill() has returned): only now may the held worker let signals through.
      if (mode === "held until terminated" || mode === "switched off" || mode === "dropped at the removal") {
        Atomics.store(h.words(), index, 1);
      }
      const stopped = await withBound(
        pm.waitForBackgroundWorkerShutdown(handle),
        STOPPED_WITHIN_MS,
        () => `${mode} round ${i} (PID ${pid}) to stop: its SIGTERM was lost; log:\n${h.log()}`,
      );
      const ms = performance.now() - t0;
      assert.equal(stopped, BGWH_STOPPED);
      const mine = lines.filter((l) => l.pid === pid).map((l) => `${l.level}:  ${l.message}`);
      assert.ok(mine.includes(`FATAL:  ${FATAL}`), `${mode} round ${i}: the FATAL line; got:\n${mine.join("\n")}`);
      assert.ok(
        mine.includes(`LOG:  background worker "${TYPE}" (PID ${pid}) exited with exit code 1`),
        `${mode} round ${i}: counted as exit code 1; got:\n${mine.join("\n")}`,
      );
      if (mode === "churning lock") {
        const lock = pm.getNamedLWLockTranche(RACE.locks)[index]!;
        assert.ok(lock.conditionalAcquire("exclusive"), `${mode} round ${i}: its lock is free again`);
        lock.release();
      }
      const recovered = mine.includes(`DEBUG1:  ${RECOVERED}`);
      // Switched off, the listener stays and takes the SIGTERM itself: there is nothing to recover.
      if (mode === "switched off") assert.equal(recovered, false, `${mode} round ${i}: no SIGTERM dropped`);
      outcomes.push({ mode, pid: pid!, recovered, ms });
    }

    try {
      for (const [mode, count] of ROUNDS) {
        for (let first = 0; first < count; first += AT_ONCE) {
          const batch = [];
          for (let i = first; i < Math.min(count, first + AT_ONCE); i++) batch.push(run(mode, i, round++));
          await Promise.all(batch);
        }
      }
    } finally {
      await pm.stop("fast");
    }
    assert.ok(!lines.some((l) => l.message.includes("SIGKILL")), `no SIGKILL was needed; log:\n${h.log()}`);
    const summary = ROUNDS.map(([mode]) => {
      const of = outcomes.filter((o) => o.mode === mode);
      const ms = of.map((o) => o.ms).sort((a, b) => a - b);
      return `${mode}: ${of.length} stopped, ${of.filter((o) => o.recovered).length} dropped by the listener and ` +
        `delivered after the announcement, terminate → STOPPED median ${ms[ms.length >> 1]!.toFixed(2)} ms`;
    });
    console.log(`terminate race (${outcomes.length} rounds):\n  ${summary.join("\n  ")}`);
    assert.equal(outcomes.length, ROUNDS.reduce((n, [, count]) => n + count, 0));
  },
);
