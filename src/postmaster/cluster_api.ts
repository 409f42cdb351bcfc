/**
 * The postmaster's cluster calls (option `cluster`): register a worker on
 * whichever host of the cluster has a free slot, and poll, await and
 * terminate it from any host through a plain-data handle. A base of the
 * `Postmaster` facade, as the shared memory calls are.
 *
 * Each call is a statement or two on this host's connection to the
 * cluster's database, so each returns a promise; waits poll that database.
 *
 * @module
 */

import { BGWH_NOT_YET_STARTED, BGWH_POSTMASTER_DIED, BGWH_STOPPED } from "../constants.ts";
import { BackgroundWorkerError } from "../errors.ts";
import { checkWorkerOptions, type WorkerOptions } from "../worker_options.ts";
import { validateBackgroundWorker } from "../worker_validation.ts";
import {
  type ClusterWorkerHandle,
  type ClusterWorkerRow,
  clusterWorkers,
  type ClusterWorkerStatus,
  getClusterWorkerStatus,
  type HostInfo,
  liveHosts,
  placeWorker,
  requestClusterWorkerTermination,
} from "../cluster/mod.ts";
import type { PostmasterContext } from "./context.ts";
import type { ClusterSegment } from "./shared_memory.ts";
import { SharedMemoryApi } from "./shared_memory_api.ts";

/** How often a wait reads the worker's status. */
const WAIT_POLL_MS = 50;

/**
 * The cluster calls of a postmaster.
 *
 * @example
 * ```ts
 * import { Postmaster } from "bgworker";
 * const pm = new Postmaster({ cluster: { url: "postgres://app@db:5432/app" } });
 * await pm.start();
 * const handle = await pm.registerClusterWorker({
 *   bgw_name: "mover", bgw_flags: 0, bgw_start_time: 2, bgw_restart_time: 5,
 *   bgw_library_name: "./mover.ts", bgw_function_name: "main",
 * });
 * if (handle) console.log(await pm.waitForClusterWorkerStartup(handle));
 * ```
 */
export class ClusterApi extends SharedMemoryApi {
  readonly #ctx: PostmasterContext;

  /**
   * The calls over one postmaster's rooms.
   *
   * @param shmem the cluster's segment (for the shared memory calls)
   * @param ctx the postmaster's rooms
   */
  constructor(shmem: ClusterSegment, ctx: PostmasterContext) {
    super(shmem);
    this.#ctx = ctx;
  }

  /**
   * Place a dynamic worker on a live host of the cluster with a free slot
   * (the host with the most), as `RegisterDynamicBackgroundWorker` does on
   * one host: resolves with its handle, or null when no host has a free
   * slot, the cluster is at `cluster.maxWorkers`, or this postmaster is
   * stopping. The worker runs there exactly as a local dynamic worker (its
   * start parameters by value, its restart rules), reads its placement with
   * `myClusterPlacement`, and moves to another host when its host dies.
   * Rejects for an invalid registration, naming the field, and when this
   * postmaster has no `cluster` option or has not started.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * const handle = await pm.registerClusterWorker({
   *   bgw_name: "indexer", bgw_flags: 0, bgw_start_time: 2, bgw_restart_time: 10,
   *   bgw_library_name: "./indexer.ts", bgw_function_name: "main",
   * }, { env: { QUEUE: "default" } });
   * if (handle === null) console.log("no host has a free slot");
   * ```
   */
  async registerClusterWorker(worker: unknown, options?: WorkerOptions): Promise<ClusterWorkerHandle | null> {
    const entry = validateBackgroundWorker(worker, { dynamic: true });
    const workerOptions = { ...this.#ctx.options.workerDefaults, ...checkWorkerOptions(options, entry.bgw_name) };
    const notify = entry.bgw_notify_pid;
    if (notify !== 0 && notify !== this.#ctx.adapter.pid) {
      throw new BackgroundWorkerError("a cluster worker's bgw_notify_pid must be 0 or the postmaster's pid", {
        worker: entry.bgw_name,
        field: "bgw_notify_pid",
        code: "invalid_parameter_value",
        detail: `Got ${notify}. Waits on a cluster worker go through the cluster's database, from any host.`,
      });
    }
    const store = this.#ctx.cluster.store();
    if (!this.#ctx.state.acceptsDynamicWorkers) return null;
    // The pid names a process of this host only: the copy the cluster keeps notifies nobody.
    const placed = await placeWorker(store, { ...entry, bgw_notify_pid: 0 }, {
      maxWorkers: this.#ctx.cluster.option?.maxWorkers ?? undefined,
      workerOptions,
    });
    if (placed && placed.hostId === this.#ctx.cluster.hostId) this.#ctx.cluster.nudge();
    return placed?.handle ?? null;
  }

  /**
   * A cluster worker's status, pid and host, from any host of the cluster
   * (`GetBackgroundWorkerPid` plus the host). A worker on a host whose
   * lease lapsed reads `BGWH_STOPPED`.
   *
   * @example
   * ```ts
   * import { BGWH_STARTED, Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * const { status, pid, hostId } = await pm.getClusterWorkerPid({ cluster: "default", slot: 0, generation: 1 });
   * if (status === BGWH_STARTED) console.log(`running as ${pid} on ${hostId}`);
   * ```
   */
  async getClusterWorkerPid(handle: ClusterWorkerHandle): Promise<ClusterWorkerStatus> {
    const checked = this.#requireHandle(handle);
    return await getClusterWorkerStatus(this.#ctx.cluster.store(), checked);
  }

  /**
   * Ask for a cluster worker's termination, from any host: its host sends
   * SIGTERM (or does not start it), and it is never restarted. A stale
   * handle is ignored.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * await pm.terminateClusterWorker({ cluster: "default", slot: 0, generation: 1 });
   * ```
   */
  async terminateClusterWorker(handle: ClusterWorkerHandle): Promise<void> {
    const checked = this.#requireHandle(handle);
    // Its host acts at its next poll; if that is this host, at once.
    if (await requestClusterWorkerTermination(this.#ctx.cluster.store(), checked)) this.#ctx.cluster.nudge();
  }

  /**
   * Wait until a cluster worker has started (or stopped without starting),
   * from any host; resolves with `BGWH_POSTMASTER_DIED` when this
   * postmaster stops first.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * const { status, pid, hostId } = await pm.waitForClusterWorkerStartup({ cluster: "default", slot: 0, generation: 1 });
   * ```
   */
  waitForClusterWorkerStartup(handle: ClusterWorkerHandle): Promise<ClusterWorkerStatus> {
    return this.#waitFor(handle, (status) => status.status !== BGWH_NOT_YET_STARTED);
  }

  /**
   * Wait until a cluster worker is gone for good (`BGWH_STOPPED`), from
   * any host; `BGWH_POSTMASTER_DIED` when this postmaster stops first.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * const status = await pm.waitForClusterWorkerShutdown({ cluster: "default", slot: 0, generation: 1 });
   * ```
   */
  async waitForClusterWorkerShutdown(handle: ClusterWorkerHandle): Promise<number> {
    return (await this.#waitFor(handle, (status) => status.status === BGWH_STOPPED)).status;
  }

  /**
   * Every worker of the cluster that is not stopped, on every host (what
   * `bgworker ps --cluster` prints).
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * console.table(await pm.clusterWorkers());
   * ```
   */
  async clusterWorkers(): Promise<ClusterWorkerRow[]> {
    return await clusterWorkers(this.#ctx.cluster.store());
  }

  /**
   * The cluster's live hosts: each one's slots, the cluster workers it has,
   * and how long its lease still runs by the database's clock.
   *
   * @example
   * ```ts
   * import { Postmaster } from "bgworker";
   * declare const pm: Postmaster;
   * for (const host of await pm.clusterHosts()) console.log(host.hostId, host.workers, "/", host.maxWorkers);
   * ```
   */
  async clusterHosts(): Promise<HostInfo[]> {
    return await liveHosts(this.#ctx.cluster.store());
  }

  async #waitFor(
    handle: ClusterWorkerHandle,
    done: (status: ClusterWorkerStatus) => boolean,
  ): Promise<ClusterWorkerStatus> {
    const checked = this.#requireHandle(handle);
    const { adapter, state } = this.#ctx;
    if (state.current !== "stopped") this.#ctx.cluster.store(); // before start(): reject now rather than never
    for (;;) {
      if (state.current === "stopped") return { status: BGWH_POSTMASTER_DIED, pid: null, hostId: null };
      try {
        const status = await getClusterWorkerStatus(this.#ctx.cluster.store(), checked);
        if (done(status)) return status;
      } catch {
        // The database is out of reach for now (or the host is leaving): the next poll says.
      }
      await new Promise<void>((resolve) => adapter.setTimer(WAIT_POLL_MS, resolve));
    }
  }

  #requireHandle(handle: unknown): ClusterWorkerHandle {
    if (!this.#ctx.cluster.enabled) this.#ctx.cluster.store(); // throws: no cluster option
    const name = this.#ctx.cluster.option?.name;
    const h = handle as Partial<ClusterWorkerHandle> | null;
    const field = typeof h !== "object" || h === null
      ? "handle"
      : h.cluster !== name
      ? "cluster"
      : !Number.isSafeInteger(h.slot) || h.slot! < 0
      ? "slot"
      : !Number.isSafeInteger(h.generation) || h.generation! < 1
      ? "generation"
      : null;
    if (field !== null) {
      throw new TypeError(
        `invalid cluster worker handle: ${
          field === "handle" ? "it must be { cluster, slot, generation }" : `bad ${field}`
        }${field === "cluster" ? ` (this postmaster's cluster is ${JSON.stringify(name ?? null)})` : ""}`,
      );
    }
    return { cluster: h!.cluster!, slot: h!.slot!, generation: h!.generation! };
  }
}
