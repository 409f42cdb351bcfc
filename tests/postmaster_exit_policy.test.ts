import assert from "node:assert/strict";
import { test } from "node:test";
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS } from "../src/constants.ts";
import { decideExit, type ExitFacts } from "../src/postmaster/exit_policy.ts";

const base: ExitFacts = {
  code: 1,
  signal: null,
  flags: 0,
  restartTime: 10,
  terminate: false,
  killedByPostmaster: false,
  shuttingDown: false,
  crashCycle: false,
};
const decide = (facts: Partial<ExitFacts>) => decideExit({ ...base, ...facts }, 'background worker "w" (PID 7)', "w");

test("exit 0 unregisters; exit 1 restarts after the interval; BGW_NEVER_RESTART and terminate unregister", () => {
  assert.equal(decide({ code: 0 }).outcome, "unregister");
  assert.equal(decide({ code: 1 }).outcome, "restart_after_interval");
  assert.equal(decide({ code: 1, restartTime: BGW_NEVER_RESTART }).outcome, "unregister");
  assert.equal(decide({ code: 1, terminate: true }).outcome, "unregister");
  assert.equal(decide({ code: 0 }).crash, false);
});

test("an abnormal exit crashes the cluster only for a shared-memory worker the postmaster did not kill", () => {
  assert.deepEqual([decide({ code: 3, flags: BGWORKER_SHMEM_ACCESS }).crash, decide({ code: 3 }).crash], [true, false]);
  assert.equal(
    decide({ code: null, signal: "SIGSEGV", flags: BGWORKER_SHMEM_ACCESS }).outcome,
    "restart_after_crash_cycle",
  );
  assert.equal(
    decide({ code: null, signal: "SIGKILL", flags: BGWORKER_SHMEM_ACCESS, killedByPostmaster: true }).crash,
    false,
  );
  assert.equal(decide({ code: 3 }).outcome, "restart_after_interval", "without shared memory it counts as exit 1");
});

test("during a crash cycle the exit is judged first: exit 0, terminate and BGW_NEVER_RESTART unregister, the rest wait for the cycle", () => {
  const flags = BGWORKER_SHMEM_ACCESS;
  assert.equal(decide({ code: 0, flags, crashCycle: true }).outcome, "unregister");
  assert.equal(decide({ code: 2, flags, crashCycle: true, terminate: true }).outcome, "unregister");
  assert.equal(decide({ code: 2, flags, crashCycle: true, restartTime: BGW_NEVER_RESTART }).outcome, "unregister");
  assert.equal(decide({ code: 2, flags, crashCycle: true }).outcome, "restart_after_crash_cycle");
  assert.equal(decide({ code: 1, crashCycle: true }).outcome, "restart_after_crash_cycle");
  assert.equal(decide({ code: 2, flags, crashCycle: true }).crash, false, "a cycle under way is not begun again");
});

test("a crashing BGW_NEVER_RESTART worker still crashes the cluster and is forgotten", () => {
  const d = decide({ code: null, signal: "SIGABRT", flags: BGWORKER_SHMEM_ACCESS, restartTime: BGW_NEVER_RESTART });
  assert.deepEqual([d.crash, d.outcome], [true, "unregister"]);
});

test("shutdown unregisters whatever the exit", () => {
  assert.equal(decide({ code: 2, flags: BGWORKER_SHMEM_ACCESS, shuttingDown: true }).outcome, "unregister");
  assert.equal(decide({ code: 2, flags: BGWORKER_SHMEM_ACCESS, shuttingDown: true }).crash, false);
});

test("log lines: PostgreSQL's wording, the FATAL line and exit 1 for a death by SIGTERM", () => {
  assert.deepEqual(decide({ code: 0 }).log, [{
    level: "DEBUG1",
    message: 'background worker "w" (PID 7) exited with exit code 0',
  }]);
  assert.deepEqual(decide({ code: null, signal: "SIGKILL" }).log, [{
    level: "LOG",
    message: 'background worker "w" (PID 7) was terminated by signal 9: Killed',
  }]);
  const term = decide({ code: null, signal: "SIGTERM", flags: BGWORKER_SHMEM_ACCESS });
  assert.deepEqual(term.log.map((l) => l.level), ["FATAL", "LOG"]);
  assert.match(term.log[0]!.message, /terminating background worker "w" due to administrator command/);
  assert.equal(term.log[1]!.message, 'background worker "w" (PID 7) exited with exit code 1');
  assert.equal(term.crash, false, "SIGTERM's death is exit 1, never a crash");
});
