/**
 * The postmaster's metrics in Prometheus's text exposition format (0.0.4),
 * for `pm.metrics()` and the control socket. Counters follow the worker
 * events and the exits as the exit policy classed them; gauges are read
 * when asked. Labels stay bounded: state and exit kind take a few values,
 * and per-worker gauges are labelled by name, type and slot (at most
 * `maxWorkerProcesses` series), never by pid.
 *
 * @module
 */

import type { Listeners } from "../listeners.ts";
import type { PostmasterEvents, WorkerSummary } from "./events.ts";
import type { WorkerState } from "./slot_table.ts";

/**
 * How an exit is counted: by its code (0, 1; other codes that begin no
 * crash count as 1, as PostgreSQL treats them), a crash (it began a crash
 * cycle), another death by signal, or a termination asked for
 * (`terminateBackgroundWorker`, `BGWORKER_INTERRUPTIBLE`, a protocol
 * violation).
 *
 * @example
 * ```ts
 * import type { ExitKind } from "./metrics.ts";
 * const kind: ExitKind = "terminated";
 * ```
 */
export type ExitKind = "0" | "1" | "crash" | "signal" | "terminated";

const EXIT_KINDS: readonly ExitKind[] = ["0", "1", "crash", "signal", "terminated"];
const STATES: readonly WorkerState[] = [
  "not_yet_started",
  "starting",
  "running",
  "stopping",
  "waiting_restart",
  "failed",
];
/** Upper bounds of the start latency histogram, in seconds: a spare's start is about a millisecond, a cold one tens. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * What is read when the metrics are asked for.
 *
 * @example
 * ```ts
 * import type { MetricsSnapshot } from "./metrics.ts";
 * const idle: MetricsSnapshot = { workers: [], maxWorkerProcesses: 8, sparesIdle: 0, sharedMemory: null };
 * ```
 */
export interface MetricsSnapshot {
  workers: WorkerSummary[];
  maxWorkerProcesses: number;
  sparesIdle: number;
  sharedMemory: { sizeBytes: number; usedBytes: number } | null;
}

/**
 * The counters of one postmaster, and their rendering.
 *
 * @example
 * ```ts
 * import { Listeners } from "../listeners.ts";
 * import { PostmasterMetrics } from "./metrics.ts";
 * const metrics = new PostmasterMetrics(new Listeners(() => {}));
 * metrics.render({ workers: [], maxWorkerProcesses: 8, sparesIdle: 0, sharedMemory: null });
 * ```
 */
export class PostmasterMetrics {
  #starts = 0;
  #restarts = 0;
  #failed = 0;
  #crashCycles = 0;
  readonly #exits = new Map<ExitKind, number>(EXIT_KINDS.map((kind) => [kind, 0]));
  /** Epoch ms of each registration that has not reported in yet, by handle. */
  readonly #registeredAt = new Map<string, number>();
  readonly #latencyCounts = LATENCY_BUCKETS.map(() => 0);
  #latencySum = 0;
  #latencyCount = 0;

  /** @param listeners the postmaster's events, whose worker events the counters follow */
  constructor(listeners: Listeners<PostmasterEvents>) {
    listeners.on("worker", (event) => {
      const key = `${event.handle.slot}:${event.handle.generation}`;
      switch (event.kind) {
        case "registered":
          this.#registeredAt.set(key, event.at);
          return;
        case "started": {
          this.#starts++;
          const registered = this.#registeredAt.get(key);
          if (registered === undefined) return;
          this.#registeredAt.delete(key);
          this.#observeLatency(Math.max(0, event.at - registered) / 1000);
          return;
        }
        case "restart_scheduled":
          this.#restarts++;
          return;
        case "failed":
          this.#failed++;
          return;
        case "unregistered":
          this.#registeredAt.delete(key);
          return;
      }
    });
  }

  /** A worker's process is gone, counted as `kind`. */
  exited(kind: ExitKind): void {
    this.#exits.set(kind, this.#exits.get(kind)! + 1);
  }

  /** A crash cycle began. */
  crashCycle(): void {
    this.#crashCycles++;
  }

  /** Everything, in the text exposition format. */
  render(snapshot: MetricsSnapshot): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      out.push(`# HELP bgworker_${name} ${help}`, `# TYPE bgworker_${name} ${type}`);
      for (const [labels, value] of samples) out.push(`bgworker_${name}${labels} ${formatValue(value)}`);
    };
    const byState = new Map(STATES.map((state) => [state, 0]));
    for (const worker of snapshot.workers) byState.set(worker.state, byState.get(worker.state)! + 1);
    metric(
      "workers",
      "gauge",
      "Registered workers by state.",
      STATES.map((s) => [labels({ state: s }), byState.get(s)!]),
    );
    const inUse = snapshot.workers.filter((w) => w.state !== "failed").length;
    metric("slots_in_use", "gauge", "Worker slots in use.", [["", inUse]]);
    metric("max_worker_processes", "gauge", "Worker slots in all (max_worker_processes).", [[
      "",
      snapshot.maxWorkerProcesses,
    ]]);
    metric("worker_starts_total", "counter", "Worker processes that reported in.", [["", this.#starts]]);
    metric(
      "worker_exits_total",
      "counter",
      "Worker process exits, by kind.",
      EXIT_KINDS.map((kind) => [labels({ kind }), this.#exits.get(kind)!]),
    );
    metric("worker_restarts_total", "counter", "Worker restarts scheduled.", [["", this.#restarts]]);
    metric("crash_cycles_total", "counter", "Crash cycles begun.", [["", this.#crashCycles]]);
    metric("workers_failed_total", "counter", "Workers failed by their restart intensity.", [["", this.#failed]]);
    out.push(
      "# HELP bgworker_start_latency_seconds Registration to BGWH_STARTED, first start of each registration.",
      "# TYPE bgworker_start_latency_seconds histogram",
    );
    LATENCY_BUCKETS.forEach((bound, i) =>
      out.push(`bgworker_start_latency_seconds_bucket{le="${bound}"} ${this.#latencyCounts[i]}`)
    );
    out.push(
      `bgworker_start_latency_seconds_bucket{le="+Inf"} ${this.#latencyCount}`,
      `bgworker_start_latency_seconds_sum ${formatValue(this.#latencySum)}`,
      `bgworker_start_latency_seconds_count ${this.#latencyCount}`,
    );
    metric("spares_idle", "gauge", "Spare worker processes waiting for a worker.", [["", snapshot.sparesIdle]]);
    const shmem = snapshot.sharedMemory;
    metric("shared_memory_reserved_bytes", "gauge", "Size of the shared memory segment.", [[
      "",
      shmem?.sizeBytes ?? 0,
    ]]);
    metric("shared_memory_used_bytes", "gauge", "Bytes of the segment in use.", [["", shmem?.usedBytes ?? 0]]);
    const running = snapshot.workers.filter((w) => w.rssBytes !== null || w.cpuSeconds !== null);
    const workerLabels = (w: WorkerSummary) =>
      labels({ name: w.bgw_name, type: w.bgw_type, slot: String(w.handle.slot) });
    metric(
      "worker_resident_memory_bytes",
      "gauge",
      "Resident memory of each running worker.",
      running.filter((w) => w.rssBytes !== null).map((w) => [workerLabels(w), w.rssBytes!]),
    );
    metric(
      "worker_cpu_seconds",
      "gauge",
      "CPU time used by each running worker's process.",
      running.filter((w) => w.cpuSeconds !== null).map((w) => [workerLabels(w), w.cpuSeconds!]),
    );
    return out.join("\n") + "\n";
  }

  #observeLatency(seconds: number): void {
    LATENCY_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) this.#latencyCounts[i]!++;
    });
    this.#latencySum += seconds;
    this.#latencyCount++;
  }
}

/** `{a="x",b="y"}`, values escaped as the format asks (backslash, double quote, newline). */
function labels(values: Record<string, string>): string {
  const escape = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
  return `{${Object.entries(values).map(([name, value]) => `${name}="${escape(value)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}
