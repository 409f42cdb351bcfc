/**
 * What `bgworker health` decides from a postmaster's `ps` reply: healthy
 * when no worker is in state `failed` (a worker whose restarts were cut off
 * by its restart intensity). The one line it prints says why, for a
 * Kubernetes exec probe's event log.
 *
 * @module
 */

/**
 * The decision and its line.
 *
 * @example
 * ```ts
 * import type { HealthVerdict } from "./health.ts";
 * const verdict: HealthVerdict = { healthy: true, line: "ok: 3 workers, none failed" };
 * ```
 */
export interface HealthVerdict {
  healthy: boolean;
  line: string;
}

/** How many failed workers the line names before it says "and N more". */
const NAMED_AT_MOST = 5;

/**
 * Judge the `workers` of a `ps` reply, as it came over the socket.
 *
 * @example
 * ```ts
 * import { healthVerdict } from "./health.ts";
 * healthVerdict([{ bgw_name: "importer", handle: { slot: 2, generation: 1 }, state: "failed" }]);
 * // { healthy: false, line: 'unhealthy: worker "importer" (slot 2) failed' }
 * ```
 */
export function healthVerdict(workers: unknown): HealthVerdict {
  if (!Array.isArray(workers)) return { healthy: false, line: "unhealthy: the postmaster's reply has no worker list" };
  const failed = workers.filter((w) => typeof w === "object" && w !== null && w.state === "failed");
  const count = `${workers.length} worker${workers.length === 1 ? "" : "s"}`;
  if (failed.length === 0) return { healthy: true, line: `ok: ${count}, none failed` };
  const named = failed.slice(0, NAMED_AT_MOST).map(describe);
  const more = failed.length > NAMED_AT_MOST ? ` and ${failed.length - NAMED_AT_MOST} more` : "";
  const line = failed.length === 1
    ? `unhealthy: worker ${named[0]} failed`
    : `unhealthy: ${failed.length} of ${count} failed: ${named.join(", ")}${more}`;
  return { healthy: false, line };
}

function describe(worker: { bgw_name?: unknown; handle?: { slot?: unknown } }): string {
  const name = typeof worker.bgw_name === "string" ? worker.bgw_name : "?";
  const slot = typeof worker.handle?.slot === "number" ? ` (slot ${worker.handle.slot})` : "";
  return `${JSON.stringify(name)}${slot}`;
}
