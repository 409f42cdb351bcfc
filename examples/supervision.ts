/**
 * Supervision: restarts after a failure, and a crash of a shared-memory
 * worker taking the other shared-memory workers down with it, as in
 * PostgreSQL. Runs as it stands:
 *
 *   npx tsx examples/supervision.ts
 *   deno run -A examples/supervision.ts
 *   bun run examples/supervision.ts
 *
 * - "flaky" throws after 300 ms: exit 1, restarted after its 1 s interval.
 * - "crashing" kills itself with SIGKILL after 500 ms. It has shared memory
 *   access, so the postmaster sends SIGQUIT to every other worker and
 *   restarts them all at once ("steady" gets a new PID); "crashing" has
 *   BGW_NEVER_RESTART, so it is forgotten.
 * - "one-off" is BGW_NEVER_RESTART too and only naps: the crash cycle ends it
 *   for good.
 */
import { eventLog } from "./event_log.ts";
import {
  type BackgroundWorker,
  BGW_NEVER_RESTART,
  BGWH_STARTED,
  BGWH_STOPPED,
  BGWORKER_SHMEM_ACCESS,
  Postmaster,
} from "../mod.ts";

const worker = (name: string, fn: string, flags: number, restart: number): BackgroundWorker => ({
  bgw_name: name,
  bgw_type: "supervision",
  bgw_flags: flags,
  bgw_start_time: 0,
  bgw_restart_time: restart,
  bgw_library_name: new URL("./supervision_worker.ts", import.meta.url).href,
  bgw_function_name: fn,
});

const t0 = Date.now();
const { lines, record, until } = eventLog((line) => `${String(Date.now() - t0).padStart(5)} ms  ${line}`);

const pm = new Postmaster({ logger: (level, message) => level !== "DEBUG1" && record(`${level}:  ${message}`) });
pm.registerBackgroundWorker(worker("steady", "steadyMain", BGWORKER_SHMEM_ACCESS, 60));
pm.registerBackgroundWorker(worker("flaky", "flakyMain", 0, 1));
await pm.start();

// Dynamic workers report their starts and stops to the postmaster, which notifies us.
const names = new Map<string, string>();
pm.on("notify", ({ handle, status, pid }) => {
  const name = names.get(`${handle.slot}:${handle.generation}`);
  record(
    `notify: ${name} ${
      status === BGWH_STARTED ? `started, PID ${pid}` : status === BGWH_STOPPED ? "stopped" : `status ${status}`
    }`,
  );
});
for (
  const w of [
    worker("one-off", "steadyMain", BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART),
    worker("crashing", "crashingMain", BGWORKER_SHMEM_ACCESS, BGW_NEVER_RESTART),
  ]
) {
  const handle = pm.registerDynamicBackgroundWorker({ ...w, bgw_notify_pid: pm.pid })!;
  names.set(`${handle.slot}:${handle.generation}`, w.bgw_name);
}

const count = (text: string) => lines.filter((line) => line.includes(text)).length;
// Two runs of "flaky" ended by its error, and one whole crash cycle.
await until(() => count("lost the connection") >= 2 && count("reinitializing") >= 1 && count("steady (PID") >= 2);
console.log("\nstill registered:");
console.table(
  pm.backgroundWorkers().map(({ bgw_name, status, pid }) => ({
    bgw_name,
    status: status === BGWH_STARTED ? "started" : "waiting to restart",
    pid,
  })),
);
await pm.stop("fast");
