/**
 * `bgworker ps --cluster`: every host and every cluster worker of the
 * clusters the postmasters found belong to. Any host of a cluster sees all
 * of it (the state lives in the cluster's database), so each cluster is
 * printed once, from the first of its postmasters that answered.
 *
 * @module
 */

import type { Invocation } from "../args.ts";
import { askAll } from "../ask_all.ts";
import { EXIT_FAILED, EXIT_OK } from "../errors.ts";
import { cellText, formatDuration, formatTable, NONE } from "../format.ts";
import type { CliIo } from "../io.ts";

/**
 * What one postmaster said of its cluster.
 *
 * @example
 * ```ts
 * import type { ClusterView } from "./ps_cluster.ts";
 * const empty: ClusterView = { cluster: "default", hostId: "pod-1", hosts: [], workers: [] };
 * ```
 */
export type ClusterView = {
  cluster: string;
  hostId: string;
  hosts: Record<string, unknown>[];
  workers: Record<string, unknown>[];
};

/**
 * Run `ps --cluster`. Returns 0 when some postmaster answered for every
 * cluster found, else the first failure's code; a postmaster without the
 * `cluster` option is noted on stderr and counts as a failure.
 *
 * @example
 * ```ts
 * import { runPsCluster } from "./ps_cluster.ts";
 * import { processIo } from "../io.ts";
 * const code = await runPsCluster({ command: "ps", json: false, cluster: true, help: false, target: null, timeoutMs: 5000 }, processIo());
 * ```
 */
export async function runPsCluster(invocation: Extract<Invocation, { command: "ps" }>, io: CliIo): Promise<number> {
  const list = (value: unknown) => Array.isArray(value) ? value as Record<string, unknown>[] : [];
  const answers = (await askAll(invocation, io, { op: "cluster" })).map(({ reply, error }) => ({
    view: reply === null ? null : {
      cluster: String(reply.cluster),
      hostId: String(reply.hostId),
      hosts: list(reply.hosts),
      workers: list(reply.workers),
    },
    error,
  }));
  const clusters = new Map<string, ClusterView>();
  for (const { view } of answers) if (view && !clusters.has(view.cluster)) clusters.set(view.cluster, view);
  const failed = answers.filter((a) => a.error !== null);
  if (clusters.size === 0 && !invocation.json) throw failed[0]!.error!;
  for (const { error } of failed) io.err(error!.message + "\n");
  const views = [...clusters.values()];
  if (invocation.json) io.out(JSON.stringify(views) + "\n");
  else io.out(views.map(formatCluster).join("\n"));
  if (failed.length === 0) return EXIT_OK;
  return clusters.size === 0 ? failed[0]!.error!.exitCode : EXIT_FAILED;
}

/**
 * One cluster as text: its hosts, then its workers with the host each runs on.
 *
 * @example
 * ```ts
 * import { formatCluster } from "./ps_cluster.ts";
 * console.log(formatCluster({ cluster: "default", hostId: "pod-1", hosts: [], workers: [] }));
 * ```
 */
export function formatCluster(view: ClusterView): string {
  const hosts = view.hosts.map((h) => [
    cellText(h.hostId),
    `${cellText(h.workers)}/${cellText(h.maxWorkers)}`,
    typeof h.leaseLeftMs === "number" ? formatDuration(h.leaseLeftMs) : NONE,
  ]);
  const workers = view.workers.map((w) => {
    const handle = w.handle as { slot?: unknown; generation?: unknown } | undefined;
    return [
      cellText(w.hostId),
      handle ? `${cellText(handle.slot)}:${cellText(handle.generation)}` : NONE,
      cellText(w.name),
      cellText(w.state),
      cellText(w.pid),
      cellText(w.fence),
    ];
  });
  return [
    `cluster ${cellText(view.cluster)} (as host ${cellText(view.hostId)} sees it)`,
    hosts.length === 0 ? "(no live hosts)" : formatTable(["host", "workers", "lease left"], hosts),
    "",
    workers.length === 0 ? "(no workers)" : formatTable(["host", "slot:gen", "name", "state", "pid", "fence"], workers),
    "",
  ].join("\n");
}
