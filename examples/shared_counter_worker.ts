/**
 * The worker of examples/shared_counter.ts: counts HITS hits, each once
 * with Atomics.add on the shared counter and once in the ledger, whose
 * total and per-worker count change together under the exclusive lock.
 */
import { type Datum, getNamedLWLockTranche, myProcPid, shmemInitStruct } from "../worker.ts";

/** Workers the example starts, and the hits each counts. */
export const WORKERS = 3;
export const HITS = 20_000;
/** The shared struct, as 32-bit words: the Atomics counter, the ledger's total, then one count per worker. */
export const HIT_COUNTS = {
  name: "hit counts",
  size: 4 * (2 + WORKERS),
  atomicTotal: 0,
  ledgerTotal: 1,
  ledgerFirst: 2,
} as const;
export const LEDGER_LOCKS = "hit ledger";

/** Main function: `index` is this worker's place in the ledger. */
export function countHits(index: Datum): void {
  // The same name gives every process the same bytes; the postmaster created them first (found is true here).
  const hits = new Int32Array(shmemInitStruct(HIT_COUNTS.name, HIT_COUNTS.size).buffer);
  const [lock] = getNamedLWLockTranche(LEDGER_LOCKS);
  const mine = HIT_COUNTS.ledgerFirst + Number(index);
  for (let i = 0; i < HITS; i++) {
    Atomics.add(hits, HIT_COUNTS.atomicTotal, 1);
    lock!.acquire("exclusive");
    hits[HIT_COUNTS.ledgerTotal]! += 1;
    hits[mine]! += 1;
    lock!.release();
  }
  console.log(`hit counter ${index} (PID ${myProcPid}) counted ${HITS} hits`);
}
