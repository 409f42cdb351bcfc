/**
 * A fake WorkerPort: the worker side's whole runtime in memory, so the
 * start path, the channel, signals and latches run in milliseconds without
 * a process. A test plays the postmaster (deliver, reply, disconnect) and
 * the operating system (signals, the clock); `exit` throws `WorkerExit`
 * instead of ending the test's process, and the fake catches it wherever
 * it called into the worker.
 */
import type { PostmasterMessage, RequestMessage, StartMessage, WireError } from "../../src/protocol.ts";
import type { SharedMemoryMapper } from "../../src/shmem/mapper.ts";
import type { SignalName } from "../../src/signal_names.ts";
import { runBackgroundWorker } from "../../src/worker/bootstrap.ts";
import type { DatabaseClient, WorkerPort } from "../../src/worker/port.ts";
import { resetWorkerStateForTests } from "../../src/worker/state.ts";
import {
  type BackgroundWorker,
  encodeWorkerEntry,
  processTitle,
  validateBackgroundWorker,
} from "../../src/worker_spec.ts";
import { FakeClock } from "./fake_clock.ts";

/** Thrown by `FakeWorkerPort.exit`: the process would have ended here. */
export class WorkerExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`worker exited with code ${code}`);
    this.name = "WorkerExit";
    this.code = code;
  }
}

export class FakeWorkerPort implements WorkerPort {
  readonly pid: number;
  /** What `parentPid()` answers: the postmaster's pid until a test re-parents the worker. */
  parent: number;
  /** Every message the worker sent while the channel was open, in order. */
  readonly sent: unknown[] = [];
  /** Lines written to the diagnostics stream (stderr). */
  readonly logs: string[] = [];
  /** Signals the worker sent itself. */
  readonly raised: SignalName[] = [];
  /** Module URLs imported, in order. */
  readonly imported: string[] = [];
  /** Every exit code given, in order; the first is the process's. */
  readonly exitCalls: number[] = [];
  /** Whether removing a signal's last listener restores the kernel's default action (see WorkerPort). */
  restoresDefaultAction = true;
  /** The process's exit code, once it exited. */
  exitCode: number | null = null;
  /** The signal the process died of, when it raised one nobody handles. */
  killedBy: SignalName | null = null;
  title = "";
  disconnected = false;
  /** The runtime's shared memory; without one, `sharedMemory()` rejects. */
  sharedMemoryMapper: SharedMemoryMapper | null = null;
  /** Opens a database connection; without one, `connectDatabase` rejects. */
  connect:
    | ((url: string, target: { database?: string; user?: string; applicationName?: string }) => Promise<DatabaseClient>)
    | null = null;
  /** Resolves with the exit code at the first exit. */
  readonly exited: Promise<number>;
  #resolveExited!: (code: number) => void;
  #messageListeners: ((message: unknown) => void)[] = [];
  #disconnectListeners: (() => void)[] = [];
  #signalListeners = new Map<SignalName, Set<() => void>>();
  /** Signals the runtime caught and has not handed to the listeners yet (see `catchSignal`). */
  #caught: { signal: SignalName; listeners: Set<() => void> }[] = [];
  #uncaughtListeners: ((error: unknown) => void)[] = [];
  #modules = new Map<string, () => Record<string, unknown>>();
  #sentWaiters: { match(message: unknown): boolean; resolve(message: unknown): void }[] = [];
  readonly #clock = new FakeClock();

  constructor({ pid = 4242, parentPid = 1000 }: { pid?: number; parentPid?: number } = {}) {
    this.pid = pid;
    this.parent = parentPid;
    this.exited = new Promise((resolve) => this.#resolveExited = resolve);
  }

  // --- WorkerPort ---

  parentPid(): number {
    return this.parent;
  }
  send(message: unknown): Promise<void> {
    if (this.disconnected || this.ended) return Promise.resolve();
    this.sent.push(message);
    for (const waiter of [...this.#sentWaiters]) {
      if (!waiter.match(message)) continue;
      this.#sentWaiters.splice(this.#sentWaiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
    return Promise.resolve();
  }
  onMessage(listener: (message: unknown) => void): void {
    this.#messageListeners.push(listener);
  }
  onDisconnect(listener: () => void): void {
    this.#disconnectListeners.push(listener);
  }
  onSignal(signal: SignalName, listener: () => void): () => void {
    const listeners = this.#signalListeners.get(signal) ?? new Set();
    this.#signalListeners.set(signal, listeners.add(listener));
    return () => void listeners.delete(listener);
  }
  raise(signal: SignalName): void {
    this.raised.push(signal);
    if (this.#signalListeners.get(signal)?.size) this.signal(signal);
    // Nobody handles it: the operating system's default action, death by the signal.
    else if (!this.ended) this.killedBy = signal;
  }
  onUncaught(listener: (error: unknown) => void): void {
    this.#uncaughtListeners.push(listener);
  }
  exit(code: number): never {
    this.exitCalls.push(code);
    if (this.exitCode === null && this.killedBy === null) {
      this.exitCode = code;
      this.#resolveExited(code);
    }
    throw new WorkerExit(code);
  }
  setTitle(title: string): void {
    this.title = title;
  }
  writeLog(line: string): void {
    this.logs.push(line);
  }
  importModule(url: string): Promise<Record<string, unknown>> {
    this.imported.push(url);
    const evaluate = this.#modules.get(url);
    if (!evaluate) return Promise.reject(new Error(`Cannot find module '${url}'`));
    try {
      return Promise.resolve(evaluate());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  setTimer(ms: number, callback: () => void): unknown {
    return this.#clock.setTimer(ms, callback);
  }
  clearTimer(timer: unknown): void {
    this.#clock.clearTimer(timer);
  }
  sharedMemory(): Promise<SharedMemoryMapper> {
    return this.sharedMemoryMapper
      ? Promise.resolve(this.sharedMemoryMapper)
      : Promise.reject(new Error("no shared memory in this fake"));
  }
  connectDatabase(
    url: string,
    target: { database?: string; user?: string; applicationName?: string },
  ): Promise<DatabaseClient> {
    return this.connect ? this.connect(url, target) : Promise.reject(new Error("no database in this fake"));
  }

  // --- the test's side ---

  /** The process exited or died of a signal. */
  get ended(): boolean {
    return this.exitCode !== null || this.killedBy !== null;
  }
  /** A module the worker can import: its exports, or a function run at import time (the module's top level). */
  module(url: string, exports: Record<string, unknown> | (() => Record<string, unknown>)): this {
    this.#modules.set(url, typeof exports === "function" ? exports : () => exports);
    return this;
  }
  /** The postmaster sends a message. */
  deliver(message: PostmasterMessage | Record<string, unknown>): void {
    for (const listener of this.#messageListeners) this.#run(() => listener(message));
  }
  /**
   * The operating system delivers a signal: to the process's listeners, or,
   * with none installed, by its default action, which ends the process (the
   * default action of every signal a worker handles).
   */
  signal(signal: SignalName): void {
    const listeners = this.#signalListeners.get(signal);
    if (!listeners?.size) {
      if (!this.ended) this.killedBy = signal;
      return;
    }
    for (const listener of [...listeners]) this.#run(listener);
  }
  /**
   * The runtime catches a signal that has listeners, to hand it to them at
   * `poll()`; one whose listeners were all removed by then is dropped, as
   * Node's, Deno's and Bun's are. With no listener, the default action.
   */
  catchSignal(signal: SignalName): void {
    const listeners = this.#signalListeners.get(signal);
    if (!listeners?.size) return this.signal(signal);
    this.#caught.push({ signal, listeners: new Set(listeners) });
  }
  /** The event loop polls: caught signals reach the listeners still installed of those that caught them. */
  poll(): void {
    for (const { signal, listeners } of this.#caught.splice(0)) {
      const installed = this.#signalListeners.get(signal) ?? new Set();
      for (const listener of listeners) if (installed.has(listener)) this.#run(listener);
    }
  }
  /** Whether the process has a listener for `signal` (otherwise the kernel's default action takes it). */
  listening(signal: SignalName): boolean {
    return (this.#signalListeners.get(signal)?.size ?? 0) > 0;
  }
  /** The channel closes: the postmaster is gone. */
  disconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    for (const listener of this.#disconnectListeners) this.#run(listener);
  }
  /** An error nobody caught reaches the runtime. */
  uncaught(error: unknown): void {
    for (const listener of this.#uncaughtListeners) this.#run(() => listener(error));
  }
  /** Move the clock forward, firing due timers in order. */
  advance(ms: number): void {
    this.#clock.advance(ms, (callback) => this.#run(callback));
  }
  get pendingTimers(): number {
    return this.#clock.pendingTimers;
  }
  /** Messages sent of one type. */
  messages<T = Record<string, unknown>>(type: string): T[] {
    return this.sent.filter((m) => (m as { type?: unknown }).type === type) as T[];
  }
  /** `LEVEL:  message` of each log line sent to the postmaster. */
  get sentLogs(): string[] {
    return this.messages<{ level: string; message: string }>("log").map((m) => `${m.level}:  ${m.message}`);
  }
  /** Resolves with the first message sent (or already sent) that `match` accepts. */
  nextSent(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const test = (m: unknown) => typeof m === "object" && m !== null && match(m as Record<string, unknown>);
    const already = this.sent.find(test);
    if (already) return Promise.resolve(already as Record<string, unknown>);
    return new Promise((resolve) => this.#sentWaiters.push({ match: test, resolve: resolve as (m: unknown) => void }));
  }
  /** Resolves with the next request `op` not answered yet. */
  request(op: RequestMessage["op"]): Promise<RequestMessage> {
    const answered = this.#answered;
    return this.nextSent((m) => m.type === "request" && m.op === op && !answered.has(m.id as number)) as Promise<
      unknown
    > as Promise<RequestMessage>;
  }
  #answered = new Set<number>();
  /** The postmaster answers request `id`. */
  reply(id: number, value: unknown): void {
    this.#answered.add(id);
    this.deliver({ type: "reply", id, ok: true, value });
  }
  /** The postmaster answers request `id` with an error. */
  replyError(id: number, error: WireError): void {
    this.#answered.add(id);
    this.deliver({ type: "reply", id, ok: false, error });
  }

  /** Call into the worker as the runtime would; an exit ends the call as it would end the process. */
  #run(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch (error) {
      if (!(error instanceof WorkerExit)) throw error;
    }
  }
}

/** A valid worker; override what a test is about. */
export function testWorker(overrides: Partial<BackgroundWorker> = {}): BackgroundWorker {
  return {
    bgw_name: "tester",
    bgw_type: "test type",
    bgw_flags: 0,
    bgw_start_time: 0,
    bgw_restart_time: 10,
    bgw_library_name: "./tester.ts",
    bgw_function_name: "main",
    ...overrides,
  };
}

/** The start message a postmaster with pid 1000 sends for `worker`, its library at `file:///tester.ts`. */
export function startMessage(
  worker: BackgroundWorker = testWorker(),
  overrides: Partial<StartMessage> = {},
): StartMessage {
  const entry = validateBackgroundWorker(worker, { dynamic: true });
  return {
    type: "start",
    entry: encodeWorkerEntry(entry),
    libraryUrl: "file:///tester.ts",
    slot: 0,
    generation: 1,
    postmasterPid: 1000,
    title: processTitle(entry),
    ...overrides,
  };
}

/** A DatabaseClient that records statements and answers each with `answer(sql, params)`. */
export class FakeDatabaseClient implements DatabaseClient {
  readonly statements: { sql: string; params: readonly unknown[] }[] = [];
  closed = false;
  answer: (sql: string, params: readonly unknown[]) => Record<string, unknown>[];
  constructor(answer: (sql: string, params: readonly unknown[]) => Record<string, unknown>[] = () => []) {
    this.answer = answer;
  }
  query(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    this.statements.push({ sql, params });
    try {
      return Promise.resolve(this.answer(sql, params));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  async begin<T>(body: (transaction: DatabaseClient) => Promise<T>): Promise<T> {
    this.statements.push({ sql: "BEGIN", params: [] });
    try {
      const result = await body(this);
      this.statements.push({ sql: "COMMIT", params: [] });
      return result;
    } catch (error) {
      this.statements.push({ sql: "ROLLBACK", params: [] });
      throw error;
    }
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/**
 * A worker process on a fresh fake port, booted and waiting for its start:
 * the process-wide worker state is reset first, so each test starts clean.
 */
export function bootWorker(options: { pid?: number; parentPid?: number; preload?: string[] } = {}): FakeWorkerPort {
  resetWorkerStateForTests();
  const port = new FakeWorkerPort(options);
  runBackgroundWorker(port, { preload: options.preload });
  return port;
}

/** Let queued promise callbacks run (microtasks only: no timer, no sleep). */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
