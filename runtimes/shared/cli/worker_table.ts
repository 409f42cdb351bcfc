/**
 * The worker table of `bgworker ps`: one row per entry of a postmaster's
 * `backgroundWorkers()`, as the control socket sent it. The entries come
 * over a socket, so every field is read defensively: a missing one shows
 * as `-`, never as a crash.
 *
 * @module
 */

import {
  cellText as text,
  formatBytes,
  formatCpu,
  formatDuration,
  formatLastExit,
  formatTable,
  NONE,
} from "./format.ts";

/** The columns, in order; `wait event` only when some worker waits on one. */
export const WORKER_COLUMNS = [
  "slot:gen",
  "name",
  "type",
  "state",
  "pid",
  "uptime",
  "restarts",
  "last exit",
  "cpu",
  "memory",
] as const;

/**
 * One row of cells for a worker entry. A running worker's uptime counts
 * from `startedAt`; a worker waiting for its restart says when it is due.
 *
 * @example
 * ```ts
 * import { workerRow } from "./worker_table.ts";
 * const now = Date.now();
 * workerRow({ handle: { slot: 0, generation: 1 }, bgw_name: "importer", state: "running", pid: 4242, startedAt: now - 5000 }, now);
 * // ["0:1", "importer", "-", "running", "4242", "5s", "0", "-", "-", "-"]
 * ```
 */
export function workerRow(worker: Record<string, unknown>, now: number): string[] {
  const handle = worker.handle as { slot?: unknown; generation?: unknown } | undefined;
  const state = text(worker.state);
  const running = typeof worker.startedAt === "number" && (state === "running" || state === "stopping");
  const restartIn = typeof worker.nextRestartAt === "number"
    ? ` (in ${formatDuration(worker.nextRestartAt - now)})`
    : "";
  return [
    handle ? `${text(handle.slot)}:${text(handle.generation)}` : NONE,
    text(worker.bgw_name),
    text(worker.bgw_type),
    state === "waiting_restart" ? state + restartIn : state,
    text(worker.pid),
    running ? formatDuration(now - (worker.startedAt as number)) : NONE,
    typeof worker.restarts === "number" ? String(worker.restarts) : "0",
    formatLastExit(worker.lastExit as Record<string, unknown> | null, now),
    formatCpu(worker.cpuSeconds as number | null),
    formatBytes(worker.rssBytes as number | null),
  ];
}

/**
 * The table for a list of worker entries, or `(no workers)`.
 *
 * @example
 * ```ts
 * import { formatWorkerTable } from "./worker_table.ts";
 * console.log(formatWorkerTable([{ handle: { slot: 0, generation: 1 }, bgw_name: "importer", state: "running" }], Date.now()));
 * ```
 */
export function formatWorkerTable(workers: readonly Record<string, unknown>[], now: number): string {
  if (workers.length === 0) return "(no workers)";
  const waits = workers.some((w) => typeof w.waitEvent === "string" && w.waitEvent !== "");
  const header: string[] = [...WORKER_COLUMNS, ...(waits ? ["wait event"] : [])];
  const rows = workers.map((w) => [...workerRow(w, now), ...(waits ? [text(w.waitEvent)] : [])]);
  return formatTable(header, rows);
}
