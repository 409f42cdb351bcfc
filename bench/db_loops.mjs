// The database figures' loops, run the same way by a worker and by the
// floor's client in the benchmark's own process.
import { median } from "./stats.mjs";

/** Queries timed for the round trip, after as many untimed ones. */
export const ROUND_TRIPS = 500;
/** How long a transactions-per-second window lasts. */
export const TPS_WINDOW_MS = 1000;
/** The table the transactions update, one row per worker. */
export const TPS_TABLE = "bgworker_bench_tps";

/** Median time of `select $1::int`, in ms; `query(sql, params)` runs one statement. */
export async function roundTrips(query) {
  for (let i = 0; i < ROUND_TRIPS; i++) await query("select $1::int as n", [i]);
  const times = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    await query("select $1::int as n", [i]);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Transactions committed per second, each an update of row `row`; `transaction(body)` runs body(query) in one. */
export async function transactionsPerSecond(transaction, row) {
  const update = (query) => query(`update ${TPS_TABLE} set n = n + 1 where id = $1`, [row]);
  const t0 = performance.now();
  let count = 0;
  while (performance.now() - t0 < TPS_WINDOW_MS) {
    await transaction(update);
    count++;
  }
  return count / ((performance.now() - t0) / 1000);
}
