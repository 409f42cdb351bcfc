import assert from "node:assert/strict";
import { test } from "node:test";
import { BGWH_STARTED, BGWH_STOPPED, BGWORKER_SHMEM_ACCESS } from "../../mod.ts";
import { fixture, realPostmaster, sameHandle } from "../helpers/real_postmaster.ts";

const HOSTILE = [
  [
    "raw bytes that are not JSON",
    "writesGarbage",
    /broke the protocol on its channel: sent ".*", which is not a JSON message; terminating it/,
  ],
  [
    "a 2 MB message",
    "sendsHugeMessage",
    /broke the protocol on its channel: sent a message longer than 1048576 bytes; terminating it/,
  ],
] as const;

for (const [what, fn, warning] of HOSTILE) {
  test(`real processes: a worker writing ${what} on its channel is logged and killed; the postmaster and a bystander carry on`, async () => {
    const { pm, logs, notes, until } = realPostmaster();
    // Shared memory access on both: had the kill counted as a crash, the bystander would be sent SIGQUIT.
    await pm.start();
    const bystander = pm.registerDynamicBackgroundWorker(
      fixture("bystander", "napper", { bgw_notify_pid: pm.pid, bgw_flags: BGWORKER_SHMEM_ACCESS }),
    )!;
    const { pid: bystanderPid } = await pm.waitForBackgroundWorkerStartup(bystander);
    const hostile = pm.registerDynamicBackgroundWorker(
      fixture("hostile", fn, { bgw_notify_pid: pm.pid, bgw_restart_time: 0, bgw_flags: BGWORKER_SHMEM_ACCESS }),
    )!;
    await until(
      "the hostile worker to be stopped",
      () => notes.some((n) => sameHandle(n.handle, hostile) && n.status === BGWH_STOPPED),
    );
    assert.ok(logs.some((l) => l.startsWith("WARNING:  ") && warning.test(l)), logs.join("\n"));
    assert.ok(
      logs.some((l) => /background worker "hostile" \(PID \d+\) was terminated by signal 9: Killed/.test(l)),
      logs.join("\n"),
    );
    assert.equal(pm.getBackgroundWorkerPid(hostile).status, BGWH_STOPPED, "never restarted");
    assert.deepEqual(
      pm.getBackgroundWorkerPid(bystander),
      { status: BGWH_STARTED, pid: bystanderPid },
      "the bystander was left alone",
    );
    assert.ok(
      !logs.some((l) => l.includes("SIGQUIT") || l.includes("terminating any other active server processes")),
      logs.join("\n"),
    );
    const next = pm.registerDynamicBackgroundWorker(fixture("after", "returnAtOnce", { bgw_notify_pid: pm.pid }))!;
    await until(
      "the next worker to start and finish",
      () => notes.some((n) => sameHandle(n.handle, next) && n.status === BGWH_STOPPED),
    );
    assert.ok(
      notes.some((n) => sameHandle(n.handle, next) && n.status === BGWH_STARTED),
      "the postmaster still starts workers",
    );
    await pm.stop("fast");
  });
}
