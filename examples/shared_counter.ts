/**
 * Shared memory: three workers count page hits into one struct, with
 * Atomics for a plain counter and under a lightweight lock for a ledger
 * whose words must change together; the postmaster reads consistent
 * snapshots under the same lock while they work. Runs as it stands on every
 * runtime (Deno needs --allow-ffi, which -A includes):
 *
 *   npx tsx examples/shared_counter.ts
 *   deno run -A examples/shared_counter.ts
 *   bun run examples/shared_counter.ts
 */
import { BGW_NEVER_RESTART, BGWORKER_SHMEM_ACCESS, Postmaster } from "../mod.ts";
import { HIT_COUNTS, HITS, LEDGER_LOCKS, WORKERS } from "./shared_counter_worker.ts";

const pm = new Postmaster({ maxWorkerProcesses: WORKERS });
// What a _PG_init would ask for: room for the struct, and one lock.
pm.requestAddinShmemSpace(HIT_COUNTS.size);
pm.requestNamedLWLockTranche(LEDGER_LOCKS, 1);
await pm.start();

const hits = new Int32Array(pm.shmemInitStruct(HIT_COUNTS.name, HIT_COUNTS.size).buffer);
const [ledgerLock] = pm.getNamedLWLockTranche(LEDGER_LOCKS);

const handles = Array.from({ length: WORKERS }, (_, i) =>
  pm.registerDynamicBackgroundWorker({
    bgw_name: `hit counter ${i}`,
    bgw_type: "hit counter",
    bgw_flags: BGWORKER_SHMEM_ACCESS,
    bgw_start_time: 0,
    bgw_restart_time: BGW_NEVER_RESTART,
    bgw_library_name: new URL("./shared_counter_worker.ts", import.meta.url).href,
    bgw_function_name: "countHits",
    bgw_main_arg: i,
    bgw_notify_pid: pm.pid,
  })!);

/**
 * The ledger under its lock, where the total always equals the sum of the
 * per-worker counts; null when a worker holds the lock: the postmaster
 * never blocks on a worker, it reads next time.
 */
function snapshot(): { total: number; perWorker: number[] } | null {
  if (!ledgerLock!.conditionalAcquire("shared")) return null;
  try {
    return {
      total: hits[HIT_COUNTS.ledgerTotal]!,
      perWorker: Array.from({ length: WORKERS }, (_, i) => hits[HIT_COUNTS.ledgerFirst + i]!),
    };
  } finally {
    ledgerLock!.release();
  }
}

let consistent = 0;
let done = false;
void Promise.all(handles.map((handle) => pm.waitForBackgroundWorkerShutdown(handle))).then(() => done = true);
while (!done) {
  const seen = snapshot();
  if (seen && seen.total !== seen.perWorker.reduce((a, b) => a + b, 0)) {
    throw new Error(`inconsistent ledger: ${seen.total} vs ${seen.perWorker}`);
  }
  if (seen) consistent++;
  await new Promise((resolve) => setTimeout(resolve, 5));
}

// Every worker is gone: nobody holds the lock.
const { total, perWorker } = snapshot()!;
console.log(`Atomics counter: ${Atomics.load(hits, HIT_COUNTS.atomicTotal)} hits (expected ${WORKERS * HITS})`);
console.log(
  `ledger under the lock: ${total} hits = ${
    perWorker.join(" + ")
  }; all ${consistent} snapshots taken before they finished were consistent`,
);
await pm.stop();
