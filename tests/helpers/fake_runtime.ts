/**
 * A fake RuntimeAdapter and clock: the whole postmaster state machine runs
 * against them in memory, with time advanced by hand.
 */
import type { RuntimeAdapter, SpawnOptions, WorkerProcess, WorkerProcessEvents } from "../../src/adapter.ts";
import { Postmaster, type PostmasterOptions } from "../../src/postmaster/postmaster.ts";
import type { StartMessage } from "../../src/protocol.ts";
import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import type { SignalName } from "../../src/signal_names.ts";
import type { BackgroundWorker } from "../../src/worker_spec.ts";
import { FakeClock } from "./fake_clock.ts";

/** A spawned fake process: records what it was sent and which signals it got. */
export class FakeProcess implements WorkerProcess {
  readonly sent: unknown[] = [];
  readonly signals: SignalName[] = [];
  exited = false;
  readonly pid: number;
  /** The start message: given at spawn, or sent later to a spare. */
  start: StartMessage | null;
  readonly events: WorkerProcessEvents;
  /** What it was spawned with. */
  readonly options: SpawnOptions;
  constructor(pid: number, start: StartMessage | null, events: WorkerProcessEvents, options: SpawnOptions = {}) {
    this.pid = pid;
    this.start = start;
    this.events = events;
    this.options = options;
  }

  send(message: unknown): void {
    if (this.exited) return;
    this.sent.push(message);
    if ((message as { type?: string }).type === "start") this.start = message as StartMessage;
  }
  kill(signal: SignalName): void {
    if (!this.exited) this.signals.push(signal);
  }
  /** The child's bootstrap reported in. */
  reportStarted(): this {
    this.events.message({ type: "started" });
    return this;
  }
  /** The child sends a raw message. */
  post(message: unknown): void {
    this.events.message(message);
  }
  exit(code: number | null, signal: string | null = null): void {
    this.exited = true;
    this.events.exit(code, signal);
  }
  /** The worker's name, or "(spare)" for a spare not given a worker yet. */
  get entryName(): string {
    return this.start ? (JSON.parse(this.start.entry) as { bgw_name: string }).bgw_name : "(spare)";
  }
}

export class FakeRuntime implements RuntimeAdapter {
  readonly pid = 1000;
  readonly spawned: FakeProcess[] = [];
  readonly logs: string[] = [];
  readonly files = new Set<string>();
  readonly modules = new Map<string, Record<string, unknown>>();
  spawnFailures = 0;
  /** The runtime's shared memory: none unless a test gives it one. */
  sharedMemory?: () => Promise<SharedMemoryMapper>;
  /** Resident memory and CPU of a process: none unless a test gives it. */
  processUsage?: (pid: number) => { rssBytes: number; cpuSeconds: number } | null;
  /** The signal a worker dies by at its heap limit: none unless a test gives it. */
  heapLimitSignal?: string;
  /** Pids that count as alive for `processExists`, besides the postmaster's. */
  readonly alivePids = new Set<number>();
  readonly #clock = new FakeClock();
  #nextPid = 2000;

  now(): number {
    return this.#clock.now;
  }
  setTimer(ms: number, callback: () => void): unknown {
    return this.#clock.setTimer(ms, callback);
  }
  clearTimer(timer: unknown): void {
    this.#clock.clearTimer(timer);
  }
  /** Move the clock forward, firing due timers in order. */
  advance(ms: number): void {
    this.#clock.advance(ms);
  }
  get pendingTimers(): number {
    return this.#clock.pendingTimers;
  }
  spawn(start: StartMessage | null, events: WorkerProcessEvents, options?: SpawnOptions): WorkerProcess {
    if (this.spawnFailures > 0) {
      this.spawnFailures--;
      throw new Error("Resource temporarily unavailable");
    }
    const process = new FakeProcess(this.#nextPid++, start, events, options);
    this.spawned.push(process);
    return process;
  }
  cwd(): string {
    return "/srv/app";
  }
  fileExists(path: string): boolean {
    return this.files.has(path);
  }
  importModule(url: string): Promise<Record<string, unknown>> {
    const module = this.modules.get(url);
    return module ? Promise.resolve(module) : Promise.reject(new Error(`Cannot find module '${url}'`));
  }
  writeLog(line: string): void {
    this.logs.push(line);
  }
  processExists(pid: number): boolean {
    return pid === this.pid || this.alivePids.has(pid);
  }

  /** Live processes (spawned and not exited). */
  get live(): FakeProcess[] {
    return this.spawned.filter((p) => !p.exited);
  }
  /** The last process spawned for a worker name. */
  last(name: string): FakeProcess {
    const found = [...this.spawned].reverse().find((p) => p.entryName === name);
    if (!found) throw new Error(`no process was spawned for ${name}`);
    return found;
  }
  /** How many processes were spawned for a worker name. */
  count(name: string): number {
    return this.spawned.filter((p) => p.entryName === name).length;
  }
}

/** A postmaster on a fake runtime, logging everything (DEBUG1 included) into `runtime.logs`. */
export function fakePostmaster(options: PostmasterOptions = {}): { pm: Postmaster; runtime: FakeRuntime } {
  const runtime = new FakeRuntime();
  const pm = new Postmaster({
    logger: (level, message) => runtime.writeLog(`${level}:  ${message}`),
    ...options,
    adapter: runtime,
  });
  return { pm, runtime };
}

/** A valid worker; override what a test is about. */
export function worker(name: string, overrides: Partial<BackgroundWorker> = {}): BackgroundWorker {
  return {
    bgw_name: name,
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: 10,
    bgw_library_name: "./worker.ts",
    bgw_function_name: "main",
    ...overrides,
  };
}
