/**
 * Spare worker processes: runtimes booted ahead of need and waiting for
 * start parameters, so that a registration costs a message instead of a
 * runtime boot. PostgreSQL forks a worker in a fraction of a millisecond; a
 * JavaScript runtime takes tens of milliseconds to boot. A spare closes that
 * gap. Each spare serves one worker only: once it has had its start
 * parameters it belongs to that worker until it exits.
 *
 * @module
 */

import type { RuntimeAdapter, SpawnOptions, WorkerProcess, WorkerProcessEvents } from "../adapter.ts";
import type { LogLevel } from "../log_level.ts";
import { errorText } from "../errors.ts";
import type { PingMessage } from "../protocol.ts";
import { isTypeScriptUrl } from "../typescript_url.ts";

/** After a spare dies unused, wait this long before replacing it: a runtime that cannot boot must not spin. */
const RESPAWN_DELAY_MS = 1000;

/** One spare process and where its events go. */
interface Spare {
  process: WorkerProcess;
  /** The spare's runtime has booted and said so. */
  ready: boolean;
  /** The worker's events once it was handed over; until then the pool's own. */
  owner: WorkerProcessEvents | null;
}

/**
 * What the pool needs from its postmaster.
 *
 * @example
 * ```ts
 * import type { SparePoolHost } from "./spare_pool.ts";
 * declare const adapter: import("../adapter.ts").RuntimeAdapter;
 * const host: SparePoolHost = { adapter, log: () => {}, onSpareGone: () => {}, hasSharedMemory: () => false, mayRefill: () => true };
 * ```
 */
export interface SparePoolHost {
  adapter: RuntimeAdapter;
  log(level: LogLevel, message: string): void;
  /** A spare process that was never handed over is gone (the postmaster may be waiting for that to stop). */
  onSpareGone(): void;
  /** Whether the cluster has a shared memory segment, which a spare may then get ready to map. */
  hasSharedMemory(): boolean;
  /** Whether spares may be started now (the postmaster runs). */
  mayRefill(): boolean;
  /** The libraries spares import ahead, as `file:` URLs (the option `spareWorkerLibraries`); none when absent. */
  libraries?(): string[];
  /** How spares are spawned (whether their output is captured). */
  spawnOptions?: SpawnOptions;
}

/**
 * Keeps `target` spare processes booted, hands them over one at a time, and
 * refills when asked.
 *
 * @example
 * ```ts
 * import { SparePool, type SparePoolHost } from "./spare_pool.ts";
 * declare const host: SparePoolHost;
 * declare const events: import("../adapter.ts").WorkerProcessEvents;
 * const pool = new SparePool(2, host);
 * pool.fill();
 * const process = pool.take(events); // null when none is left
 * ```
 */
export class SparePool {
  readonly #target: number;
  readonly #host: SparePoolHost;
  readonly #idle = new Set<Spare>();
  #closed = false;
  #respawnTimer: unknown = null;
  #refillTimer: unknown = null;

  /**
   * @param target how many spares to keep
   * @param host the postmaster's side
   */
  constructor(target: number, host: SparePoolHost) {
    this.#target = target;
    this.#host = host;
  }

  /** Spares waiting, booted or not. */
  get size(): number {
    return this.#idle.size;
  }

  /**
   * Start spares until there are `target` of them. Spawning blocks the
   * event loop for a moment, so the postmaster calls this when nothing is
   * waiting on it: at start, and after a worker that took a spare reported in.
   */
  fill(): void {
    while (!this.#closed && this.#idle.size < this.#target) {
      if (!this.#spawnOne()) return;
    }
  }

  /**
   * Top up the spares, on a later turn of the event loop: spawning blocks
   * the loop for a moment, and whoever waits for the worker that just
   * reported in (or for the postmaster to start) must hear of it first.
   */
  scheduleRefill(): void {
    if (this.#closed || this.#refillTimer !== null || this.#idle.size >= this.#target) return;
    this.#refillTimer = this.#host.adapter.setTimer(0, () => {
      this.#refillTimer = null;
      if (this.#host.mayRefill()) this.fill();
    });
  }

  /**
   * Hand a spare over to a worker: from now on its events go to `events`.
   * Prefers one whose runtime has booted. Returns null when none is left.
   */
  take(events: WorkerProcessEvents): WorkerProcess | null {
    let chosen: Spare | null = null;
    for (const spare of this.#idle) {
      if (spare.ready) {
        chosen = spare;
        break;
      }
      chosen ??= spare;
    }
    if (!chosen) return null;
    this.#idle.delete(chosen);
    chosen.owner = events;
    return chosen.process;
  }

  /** No more spares: kill the idle ones (they run no user code) and never refill. */
  close(): void {
    this.#closed = true;
    for (const timer of [this.#respawnTimer, this.#refillTimer]) {
      if (timer !== null) this.#host.adapter.clearTimer(timer);
    }
    this.#respawnTimer = null;
    this.#refillTimer = null;
    for (const spare of this.#idle) spare.process.kill("SIGKILL");
  }

  /**
   * How a spare is spawned: the host's options, and `typeScript` when a
   * TypeScript worker is to be expected, which costs every spare (tsx:
   * 100-200 ms of CPU on Node 20; the type stripper, where no compile cache
   * makes it needless: 30 ms and 17 MB on Node 24), so it is not asked for
   * blindly. Expected means: a library listed in `spareWorkerLibraries` is
   * TypeScript (each spare imports it anyway, and its worker should start
   * as fast as that list promises). The runtime
   * adds its own reasons (the bootstrap, or the postmaster's program, is
   * TypeScript: see runtimes/node/command.ts). Any other TypeScript worker
   * may still take a spare spawned without it: the spare loads tsx, or the
   * stripper, when that worker starts, which costs less than a cold start.
   */
  #spawnOptions(): SpawnOptions | undefined {
    const typeScript = (this.#host.libraries?.() ?? []).some(isTypeScriptUrl);
    return typeScript ? { ...this.#host.spawnOptions, typeScript } : this.#host.spawnOptions;
  }

  #spawnOne(): boolean {
    const spare: Spare = { process: null as unknown as WorkerProcess, ready: false, owner: null };
    try {
      spare.process = this.#host.adapter.spawn(null, {
        message: (message) => spare.owner ? spare.owner.message(message) : this.#onIdleMessage(spare, message),
        protocolError: (reason) =>
          spare.owner ? spare.owner.protocolError(reason) : this.#onIdleViolation(spare, reason),
        exit: (code, signal) => spare.owner ? spare.owner.exit(code, signal) : this.#onIdleExit(spare, code, signal),
        output: (stream, line, cut) =>
          spare.owner
            ? spare.owner.output?.(stream, line, cut)
            : this.#host.log("LOG", `spare worker process (PID ${spare.process.pid}) wrote on its ${stream}: ${line}`),
      }, this.#spawnOptions());
    } catch (error) {
      this.#host.log("LOG", `could not fork spare worker process: ${errorText(error)}`);
      this.#respawnLater();
      return false;
    }
    this.#idle.add(spare);
    return true;
  }

  #onIdleMessage(spare: Spare, message: unknown): void {
    const type = (message as { type?: unknown } | null)?.type;
    if (type === "ready") {
      spare.ready = true;
      const libraries = this.#host.libraries?.() ?? [];
      spare.process.send(
        {
          type: "ping",
          sharedMemory: this.#host.hasSharedMemory(),
          ...(libraries.length > 0 ? { libraries } : {}),
        } satisfies PingMessage,
      );
      this.#host.log("DEBUG1", `spare worker process (PID ${spare.process.pid}) is ready`);
    } else {this.#onIdleViolation(
        spare,
        `sent ${JSON.stringify(String(type)).slice(0, 40)} before it was given a worker`,
      );}
  }

  #onIdleViolation(spare: Spare, reason: string): void {
    this.#host.log(
      "WARNING",
      `spare worker process (PID ${spare.process.pid}) broke the protocol on its channel: ${reason}; terminating it`,
    );
    spare.process.kill("SIGKILL");
  }

  #onIdleExit(spare: Spare, code: number | null, signal: string | null): void {
    this.#idle.delete(spare);
    if (!this.#closed) {
      this.#host.log(
        "LOG",
        `spare worker process (PID ${spare.process.pid}) exited unused (${signal ?? `exit code ${code}`})`,
      );
      this.#respawnLater();
    }
    this.#host.onSpareGone();
  }

  #respawnLater(): void {
    if (this.#closed || this.#respawnTimer !== null) return;
    this.#respawnTimer = this.#host.adapter.setTimer(RESPAWN_DELAY_MS, () => {
      this.#respawnTimer = null;
      this.fill();
    });
  }
}
