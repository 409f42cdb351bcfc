// The worker functions of the database figures: each connects, waits for
// the start time in its bgw_extra so that the workers of a round overlap,
// times its own loop, and logs the figure.
import { backgroundWorkerInitializeConnection, elog, myBgworkerEntry } from "../dist/worker.js";
import { roundTrips, transactionsPerSecond } from "./db_loops.mjs";

async function connectAndWait() {
  const db = await backgroundWorkerInitializeConnection("postgres", null);
  const startAt = Number(new TextDecoder().decode(myBgworkerEntry.bgw_extra).replace(/\0+$/, ""));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  return db;
}

/** Median `select $1` round trip, in ms. */
export async function databaseRoundTrip() {
  const db = await connectAndWait();
  void elog("LOG", `db ${JSON.stringify({ roundTripMs: await roundTrips((sql, params) => db.query(sql, params)) })}`);
}

/** Committed one-row updates per second on this worker's own row (its main argument). */
export async function databaseTransactions(row) {
  const db = await connectAndWait();
  const tps = await transactionsPerSecond(
    (body) => db.transaction((tx) => body((sql, params) => tx.query(sql, params))),
    Number(row),
  );
  void elog("LOG", `db ${JSON.stringify({ tps })}`);
}
