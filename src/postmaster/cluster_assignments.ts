/**
 * The cluster workers this host runs, kept in step with what the cluster
 * assigned it: each assignment becomes a local dynamic worker (the same
 * slot rules, start parameters by value, signals and restarts as any other),
 * and what happens to it locally is reported back under its placement's
 * fence. A worker the cluster took away (moved, terminated, or its slot
 * reused) is terminated here.
 *
 * Exits are not reported while the postmaster stops or after the host lost
 * its lease: the host's leave (or the failover pass) decides then, so that a
 * restartable worker moves to another host instead of being stopped.
 *
 * @module
 */

import { errorText } from "../errors.ts";
import type { BackgroundWorkerHandle } from "../handle.ts";
import type { WorkerClusterPlacement } from "../protocol.ts";
import { decodeWorkerEntry } from "../worker_entry.ts";
import {
  type ClusterStore,
  type HostAssignment,
  hostAssignments,
  type HostLease,
  reportClusterWorker,
} from "../cluster/mod.ts";
import type { WorkerReport } from "../cluster/status.ts";
import type { PostmasterContext } from "./context.ts";
import type { WorkerEvent } from "./events.ts";

/**
 * What the assignments need of their host.
 *
 * @example
 * ```ts
 * import type { AssignmentsHost } from "./cluster_assignments.ts";
 * const host: AssignmentsHost = { store: () => null, lease: () => null, marginMs: () => 2000 };
 * ```
 */
export interface AssignmentsHost {
  /** The store, while connected. */
  store(): ClusterStore | null;
  /** The live lease, or null once lost. */
  lease(): HostLease | null;
  /** The lease's margin: SIGKILL follows a fence's SIGTERM after half of it. */
  marginMs(): number;
}

interface LocalClusterWorker {
  readonly assignment: Pick<HostAssignment, "handle" | "fence">;
  readonly local: BackgroundWorkerHandle;
  lastExitCode: number | null;
  terminating: boolean;
}

const keyOf = (handle: BackgroundWorkerHandle) => `${handle.slot}:${handle.generation}`;
const placementKey = (a: Pick<HostAssignment, "handle" | "fence">) =>
  `${a.handle.slot}:${a.handle.generation}:${a.fence}`;

/**
 * One host's cluster workers.
 *
 * @example
 * ```ts
 * import { ClusterAssignments } from "./cluster_assignments.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const mine = new ClusterAssignments(ctx, { store: () => null, lease: () => null, marginMs: () => 2000 });
 * mine.watch();
 * ```
 */
export class ClusterAssignments {
  readonly #ctx: PostmasterContext;
  readonly #host: AssignmentsHost;
  /** By cluster placement (slot, generation, fence). */
  readonly #byPlacement = new Map<string, LocalClusterWorker>();
  /** By local handle. */
  readonly #byLocal = new Map<string, LocalClusterWorker>();
  /** Placements whose local worker ended for good here, until the cluster has it as stopped. */
  readonly #finished = new Map<string, { exitCode: number | null }>();
  #reports: Promise<void> = Promise.resolve();

  /** @param ctx the postmaster's rooms  @param host the cluster host's state */
  constructor(ctx: PostmasterContext, host: AssignmentsHost) {
    this.#ctx = ctx;
    this.#host = host;
  }

  /** Follow the local workers' events from now on. */
  watch(): void {
    this.#ctx.listeners.on("worker", (event) => this.#onWorkerEvent(event));
  }

  /** The slots this host offers the cluster: its own, less those its local (non-cluster) workers hold. */
  offeredSlots(): number {
    const local = this.#ctx.table.inUse().filter((slot) => slot.cluster === null && slot.phase !== "failed").length;
    return Math.max(0, this.#ctx.table.size - local);
  }

  /** Every report sent so far has been answered (or failed). */
  drained(): Promise<void> {
    return this.#reports;
  }

  /** Read this host's assignments and bring the local workers in step with them. */
  async sync(): Promise<void> {
    const store = this.#host.store();
    const lease = this.#host.lease();
    if (store === null || lease === null) return;
    await this.#reports;
    const assignments = await hostAssignments(store, lease);
    if (assignments === null || this.#host.lease() !== lease) return; // lost meanwhile: the host fences
    const assigned = new Set<string>();
    for (const assignment of assignments) {
      const key = placementKey(assignment);
      assigned.add(key);
      const worker = this.#byPlacement.get(key);
      const finished = this.#finished.get(key);
      if (finished) this.#report(assignment, { state: "stopped", exitCode: finished.exitCode });
      else if (assignment.terminate) this.#terminate(worker, assignment);
      else if (!worker) this.#start(assignment, lease);
    }
    for (const [key, worker] of this.#byPlacement) {
      if (!assigned.has(key)) this.#stop(worker, "SIGTERM"); // moved away, stopped or reused elsewhere
    }
    for (const key of this.#finished.keys()) if (!assigned.has(key)) this.#finished.delete(key);
  }

  /** The lease is lost: stop every cluster worker (SIGTERM, SIGKILL after half the margin), reporting nothing. */
  stopAll(): void {
    const workers = [...this.#byPlacement.values()];
    this.#byPlacement.clear();
    this.#byLocal.clear();
    this.#finished.clear();
    for (const worker of workers) this.#stop(worker, "SIGKILL");
  }

  #start(assignment: HostAssignment, lease: HostLease): void {
    const ctx = this.#ctx;
    const placement: WorkerClusterPlacement = {
      cluster: lease.cluster,
      slot: assignment.handle.slot,
      generation: assignment.handle.generation,
      fence: assignment.fence.toString(),
      hostId: lease.hostId,
    };
    let local: BackgroundWorkerHandle | null;
    try {
      // Decoded and checked again here: the row came from the database, and this host's rules (cwd) apply.
      const entry = decodeWorkerEntry(assignment.entry, { dynamic: true });
      local = ctx.registerDynamic(entry, JSON.parse(assignment.options), placement);
    } catch (error) {
      ctx.log("WARNING", `cluster worker in slot ${placement.slot} cannot run here: ${errorText(error)}`);
      return this.#report(assignment, { state: "stopped", exitCode: 1 });
    }
    // No local slot free (this host's own workers took it since the last renewal): try again on the next pass.
    if (local === null) return;
    const worker: LocalClusterWorker = { assignment, local, lastExitCode: null, terminating: false };
    this.#byPlacement.set(placementKey(assignment), worker);
    this.#byLocal.set(keyOf(local), worker);
  }

  #terminate(worker: LocalClusterWorker | undefined, assignment: HostAssignment): void {
    if (worker) this.#stop(worker, "SIGTERM");
    else this.#report(assignment, { state: "stopped", exitCode: null }); // never started here
  }

  /** Terminate the local worker; `SIGKILL` also kills it after half the margin, for a fence that must hold. */
  #stop(worker: LocalClusterWorker, then: "SIGTERM" | "SIGKILL"): void {
    const ctx = this.#ctx;
    if (!worker.terminating) {
      worker.terminating = true;
      ctx.terminate(worker.local);
    }
    if (then !== "SIGKILL") return;
    ctx.adapter.setTimer(this.#host.marginMs() / 2, () => {
      const slot = ctx.table.lookup(worker.local);
      if (slot?.process) ctx.processes.signal(slot.process, "SIGKILL");
    });
  }

  #onWorkerEvent(event: WorkerEvent): void {
    const worker = this.#byLocal.get(keyOf(event.handle));
    if (!worker) return;
    // A stop of the postmaster or a lost lease is for the leave or the failover pass to report.
    if (this.#ctx.state.shutdownMode !== null || this.#host.lease() === null) return;
    if (event.kind === "started") this.#report(worker.assignment, { state: "started", pid: event.pid }, worker);
    else if (event.kind === "exited") worker.lastExitCode = event.code;
    else if (event.kind === "restart_scheduled") {
      this.#report(worker.assignment, { state: "waiting", exitCode: worker.lastExitCode }, worker);
    } else if (event.kind === "unregistered" || event.kind === "failed") this.#finish(worker);
  }

  #finish(worker: LocalClusterWorker): void {
    const key = placementKey(worker.assignment);
    if (!this.#byPlacement.delete(key)) return;
    this.#byLocal.delete(keyOf(worker.local));
    this.#finished.set(key, { exitCode: worker.lastExitCode });
    this.#report(worker.assignment, { state: "stopped", exitCode: worker.lastExitCode });
  }

  /**
   * Reports go one at a time, in order; a stopped one that fails is sent
   * again by the next pass. A refused report of a running `worker` means it
   * is no longer this host's under that fence: it must not run here.
   */
  #report(
    assignment: Pick<HostAssignment, "handle" | "fence">,
    report: WorkerReport,
    worker?: LocalClusterWorker,
  ): void {
    this.#reports = this.#reports.then(async () => {
      const store = this.#host.store();
      const lease = this.#host.lease();
      if (store === null || lease === null) return;
      try {
        const ours = await reportClusterWorker(store, lease, assignment, report);
        if (report.state === "stopped") this.#finished.delete(placementKey(assignment));
        if (!ours && worker) this.#stop(worker, "SIGTERM");
      } catch (error) {
        this.#ctx.log("WARNING", `could not report cluster worker ${assignment.handle.slot}: ${errorText(error)}`);
      }
    });
  }
}
