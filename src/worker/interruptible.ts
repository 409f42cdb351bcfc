/**
 * `BGWORKER_INTERRUPTIBLE` (PostgreSQL 19) for workers that connect from
 * outside the server. In PostgreSQL, `CREATE DATABASE … TEMPLATE D`, `ALTER
 * DATABASE D RENAME TO …`, `ALTER DATABASE D SET TABLESPACE …` and `DROP
 * DATABASE D` terminate the interruptible workers connected to D, then go on
 * once they are gone. From outside, a worker watches for those commands: each
 * holds a lock on D's `pg_database` entry (AccessExclusiveLock, or ShareLock
 * on a template) while it waits up to 5 s for D's other sessions to leave
 * (PostgreSQL's `CountOtherDBBackends`), and no other command does. Seeing
 * one, the worker asks the postmaster to terminate it, as
 * `terminateBackgroundWorker` does: SIGTERM, never restarted; the command
 * then succeeds.
 *
 * @module
 */

import type { BackgroundWorkerHandle } from "../handle.ts";
import { request } from "./channel.ts";
import type { DatabaseClient, WorkerPort } from "./port.ts";

/** How often the watch looks: well within the 5 s the command waits for others to leave. */
export const INTERRUPT_POLL_MS = 200;

/** Whether a session other than the watch's own holds D's entry the way those commands do. */
const EXCLUSIVE_COMMAND_WAITING = "select exists (select 1 from pg_locks where locktype = 'object' " +
  "and classid = 'pg_database'::regclass and objid = $1::oid and granted " +
  "and mode in ('AccessExclusiveLock', 'ShareLock') and pid <> pg_backend_pid()) as waiting";

/**
 * Watch database `datid` on a connection of its own (to the cluster's
 * maintenance database, so it never holds D itself) until one of those
 * commands waits for it; then ask for this worker's termination. Errors of
 * the watch stop it silently: the worker then behaves as one without the flag.
 *
 * @example
 * ```ts
 * import { watchForExclusiveCommands } from "./interruptible.ts";
 * declare const port: import("./port.ts").WorkerPort;
 * await watchForExclusiveCommands(port, "postgres://postgres@db/postgres", 16384, { slot: 0, generation: 1 }, "worker_spi");
 * ```
 */
export async function watchForExclusiveCommands(
  port: WorkerPort,
  clusterUrl: string,
  datid: number,
  self: BackgroundWorkerHandle,
  name: string,
): Promise<void> {
  const watch: DatabaseClient = await port.connectDatabase(clusterUrl, {
    applicationName: `${name} (interruptible)`.slice(0, 63),
  });
  const look = async () => {
    try {
      const [row] = await watch.query(EXCLUSIVE_COMMAND_WAITING, [datid]);
      if (!row?.waiting) return void port.setTimer(INTERRUPT_POLL_MS, look);
      await watch.close();
      await request("terminate", { handle: self });
    } catch {
      await watch.close().catch(() => {});
    }
  };
  port.setTimer(INTERRUPT_POLL_MS, look);
}
