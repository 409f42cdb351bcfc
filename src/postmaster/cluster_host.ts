/**
 * This postmaster as one host of a cluster (option `cluster`): it joins at
 * `start()`, renews its lease, runs the failover pass, keeps its local
 * workers in step with what the cluster assigned it (cluster_assignments.ts)
 * and leaves when it stops. The store (src/cluster/) holds every rule; this
 * room holds the connection, the timers and the fence.
 *
 * The fence is the one thing that must never be late: it is a timer of its
 * own, re-armed after each renewal, so a statement that hangs (a partition:
 * the server's packets held, not refused) cannot keep the host's workers
 * alive past the point the cluster may move them.
 *
 * @module
 */

import type { PostmasterDatabaseClient, TimerId } from "../adapter.ts";
import { errorText } from "../errors.ts";
import {
  type ClusterStore,
  clusterStore,
  failover,
  type HostLease,
  joinCluster,
  LeaseFence,
  leaveCluster,
  migrateClusterSchema,
  renewIntervalMs,
  renewLease,
} from "../cluster/mod.ts";
import { redactUrl } from "./database_cluster.ts";
import { ClusterAssignments } from "./cluster_assignments.ts";
import type { CheckedClusterOption } from "./cluster_option.ts";
import type { PostmasterContext } from "./context.ts";

/**
 * The cluster side of one postmaster; idle when the option is not given.
 *
 * @example
 * ```ts
 * import { ClusterHost } from "./cluster_host.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const host = new ClusterHost(ctx);
 * if (host.enabled) await host.join();
 * ```
 */
export class ClusterHost {
  readonly #ctx: PostmasterContext;
  readonly #option: CheckedClusterOption | null;
  readonly #fence: LeaseFence | null;
  readonly #assignments: ClusterAssignments;
  #hostId = "";
  #client: PostmasterDatabaseClient | null = null;
  #store: ClusterStore | null = null;
  #lease: HostLease | null = null;
  #tickTimer: TimerId | null = null;
  #fenceTimer: TimerId | null = null;
  #lastRenewalSent = -Infinity;
  #tick: Promise<void> | null = null;
  #nudged = false;
  /** The last failover pass left workers waiting (for their restart time or a host): pass again at every poll. */
  #workersWaiting = false;
  #closed = false;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
    this.#option = ctx.options.cluster;
    this.#fence = this.#option ? new LeaseFence(() => this.#now(), { leaseMs: this.#option.leaseMs }) : null;
    this.#assignments = new ClusterAssignments(ctx, {
      store: () => this.#store,
      lease: () => this.#lease,
      marginMs: () => (this.#option?.leaseMs ?? 0) / 5,
    });
  }

  /** The option was given. */
  get enabled(): boolean {
    return this.#option !== null;
  }

  /** The option (checked), or null without one. */
  get option(): CheckedClusterOption | null {
    return this.#option;
  }

  /** This host's id in the cluster, once `join()` ran; "" before. */
  get hostId(): string {
    return this.#hostId;
  }

  /** How often the assignments are read: a twentieth of the lease, from 100 ms to 1 s. */
  get pollMs(): number {
    return Math.min(1000, Math.max(100, Math.floor((this.#option?.leaseMs ?? 0) / 20)));
  }

  /** The cluster's store over this host's connection; throws before `join()` or after the host left. */
  store(): ClusterStore {
    if (this.#store === null) {
      throw new Error(
        this.#option === null
          ? "this postmaster has no cluster option"
          : "the postmaster is not in its cluster yet (start() joins it) or has left it",
      );
    }
    return this.#store;
  }

  /** Connect, create or migrate the cluster's schema, and join with a fresh lease; rejects when that fails. */
  async join(): Promise<void> {
    const option = this.#option;
    if (option === null) return;
    const adapter = this.#ctx.adapter;
    if (!adapter.connectDatabase) throw new Error("cluster: this runtime adapter cannot connect to a database");
    this.#hostId = option.hostId ?? `${adapter.hostName?.() ?? "host"}-${adapter.pid}`;
    try {
      await this.#connect();
      await migrateClusterSchema(this.#client!);
      await this.#join();
    } catch (error) {
      await this.#disconnect();
      throw new Error(`cluster "${option.name}": could not join at ${redactUrl(option.url)}: ${errorText(error)}`, {
        cause: error,
      });
    }
    this.#assignments.watch();
    this.#schedule();
  }

  /**
   * Leave at the end of a stop, every local process gone: restartable
   * cluster workers go to other hosts at once, the others are stopped.
   */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelTimers();
    await this.#tick?.catch(() => {});
    await this.#assignments.drained();
    const lease = this.#lease;
    this.#lease = null;
    if (lease && this.#store) {
      try {
        await leaveCluster(this.#store, lease);
        this.#ctx.log("LOG", `left cluster "${lease.cluster}" as host "${lease.hostId}"`);
      } catch (error) {
        this.#ctx.log(
          "WARNING",
          `could not leave cluster "${lease.cluster}": ${errorText(error)}; its lease will lapse`,
        );
      }
    }
    await this.#disconnect();
  }

  async #connect(): Promise<void> {
    const option = this.#option!;
    const client = await this.#ctx.adapter.connectDatabase!(option.url, `bgworker host ${this.#hostId}`);
    this.#client = client;
    this.#store = clusterStore(client, option.name);
  }

  async #disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#store = null;
    await client?.close().catch(() => {});
  }

  async #join(): Promise<void> {
    const option = this.#option!;
    const sentAt = this.#fence!.sending();
    this.#lease = await joinCluster(this.#store!, {
      hostId: this.#hostId,
      maxWorkers: this.#assignments.offeredSlots(),
      leaseMs: option.leaseMs,
    });
    this.#renewed(sentAt);
    this.#ctx.log("LOG", `joined cluster "${option.name}" as host "${this.#hostId}"`);
  }

  #now(): number {
    return this.#ctx.adapter.monotonicNow?.() ?? Date.now();
  }

  /** Read the assignments now rather than at the next poll: a worker was just placed here, or one terminated. */
  nudge(): void {
    if (this.#closed) return;
    // A pass under way may have read its assignments before the change committed: run one more right after it.
    if (this.#tickTimer === null) return void (this.#nudged = true);
    this.#ctx.adapter.clearTimer(this.#tickTimer);
    this.#tickTimer = null;
    this.#startTick();
  }

  #schedule(): void {
    if (this.#closed) return;
    const nudged = this.#nudged;
    this.#nudged = false;
    this.#tickTimer = this.#ctx.adapter.setTimer(nudged ? 0 : this.pollMs, () => {
      this.#tickTimer = null;
      this.#startTick();
    });
  }

  #startTick(): void {
    this.#tick = this.#runTick().finally(() => {
      this.#tick = null;
      this.#schedule();
    });
  }

  /** One pass: rejoin or renew when due, fail over dead hosts, then bring the local workers in step. */
  async #runTick(): Promise<void> {
    const option = this.#option!;
    const interval = renewIntervalMs({ leaseMs: option.leaseMs });
    try {
      // A statement that outlives the lease is a partition: drop the connection and open another next time.
      await this.#bounded(async () => {
        if (this.#store === null) await this.#connect();
        if (this.#lease === null) {
          await this.#join();
        } else if (this.#now() - this.#lastRenewalSent >= interval) {
          const sentAt = this.#fence!.sending();
          this.#lastRenewalSent = sentAt;
          const result = await renewLease(this.#store!, this.#lease, this.#assignments.offeredSlots());
          if (!result.ok) return this.#fenced(`its lease was refused (${result.reason})`);
          this.#renewed(sentAt);
          await this.#failover();
        } else if (this.#workersWaiting) {
          await this.#failover();
        }
        if (this.#lease !== null && !this.#closed) await this.#assignments.sync();
      }, option.leaseMs);
    } catch (error) {
      this.#ctx.log("WARNING", `cluster "${option.name}": ${errorText(error)}`);
    }
  }

  /** Declare lapsed hosts dead and give waiting workers whose time has come to live hosts. */
  async #failover(): Promise<void> {
    const report = await failover(this.#store!);
    this.#workersWaiting = report.waiting > 0;
    for (const host of report.deadHosts) this.#ctx.log("LOG", `cluster host "${host}" is dead: its lease lapsed`);
  }

  async #bounded(body: () => Promise<void>, ms: number): Promise<void> {
    let timer: TimerId | null = null;
    const late = new Promise<never>((_, reject) => {
      timer = this.#ctx.adapter.setTimer(ms, () => {
        const client = this.#client;
        this.#client = null;
        this.#store = null;
        void client?.close().catch(() => {});
        reject(new Error(`no answer from the database in ${ms} ms; reconnecting`));
      });
    });
    try {
      await Promise.race([body(), late]);
    } finally {
      if (timer !== null) this.#ctx.adapter.clearTimer(timer);
    }
  }

  #renewed(sentAt: number): void {
    this.#fence!.renewed(sentAt);
    this.#armFence();
  }

  #armFence(): void {
    const fence = this.#fence!;
    if (this.#fenceTimer !== null) this.#ctx.adapter.clearTimer(this.#fenceTimer);
    // +1: a timer may fire a little early by the monotonic clock (Bun's do); one that does is armed again.
    this.#fenceTimer = this.#ctx.adapter.setTimer(Math.max(0, fence.msLeft()) + 1, () => {
      this.#fenceTimer = null;
      if (fence.holds()) this.#armFence();
      else this.#fenced("it could not renew its lease in time");
    });
  }

  /** The lease is gone or about to be: stop every cluster worker now, and join again (as a new incarnation) later. */
  #fenced(why: string): void {
    if (this.#lease === null) return;
    this.#ctx.log("WARNING", `cluster host "${this.#hostId}" stops its cluster workers: ${why}`);
    this.#lease = null;
    this.#fence!.lost();
    this.#assignments.stopAll();
  }

  #cancelTimers(): void {
    const adapter = this.#ctx.adapter;
    if (this.#tickTimer !== null) adapter.clearTimer(this.#tickTimer);
    if (this.#fenceTimer !== null) adapter.clearTimer(this.#fenceTimer);
    this.#tickTimer = this.#fenceTimer = null;
  }
}
