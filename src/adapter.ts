/**
 * The one boundary between the runtime-agnostic core and a JavaScript
 * runtime. The core calls nothing else; a fake of this interface drives the
 * whole state machine in tests, with a fake clock.
 *
 * @module
 */

import type { StartMessage } from "./protocol.ts";
import type { SharedMemoryMapper } from "./shmem/mapper.ts";
import type { ControlRequest } from "./control_protocol.ts";
import type { SignalName } from "./signal_names.ts";

/**
 * What the core learns about a worker process it spawned. The adapter calls
 * `exit` exactly once, after every `message` of that process.
 *
 * @example
 * ```ts
 * import type { WorkerProcessEvents } from "./adapter.ts";
 * const events: WorkerProcessEvents = {
 *   message: (m) => console.log(m),
 *   protocolError: (why) => console.error(why),
 *   exit: (code, signal) => console.log(code, signal),
 * };
 * ```
 */
export interface WorkerProcessEvents {
  /** A message arrived on the worker's channel (already parsed from the wire, not yet checked). */
  message(message: unknown): void;
  /** The channel carried something that is not a message (garbage, or too large). */
  protocolError(reason: string): void;
  /** The process is gone: its exit code, or the signal that killed it. */
  exit(code: number | null, signal: string | null): void;
  /**
   * The process could not be created, found out after `spawn` returned (a
   * spawn that fails at once throws instead). An `exit(1, null)` follows,
   * so the worker is restarted as after exit code 1.
   */
  spawnFailed?(reason: string): void;
  /**
   * One line the process wrote on its stdout or stderr, when the output is
   * captured (`SpawnOptions.captureOutput`): well-formed text, without its
   * newline; `cut` when the line was longer than 1 MiB and its rest dropped.
   */
  output?(stream: "stdout" | "stderr", line: string, cut: boolean): void;
}

/**
 * A spawned worker process, as the core sees it.
 *
 * @example
 * ```ts
 * import type { WorkerProcess } from "./adapter.ts";
 * function stop(process: WorkerProcess) { process.kill("SIGTERM"); }
 * ```
 */
export interface WorkerProcess {
  /** The OS process id. */
  readonly pid: number;
  /** Send a message on the worker's channel; dropped silently if the channel is closed. */
  send(message: unknown): void;
  /** Send a signal; a process that is already gone is not an error. */
  kill(signal: SignalName): void;
}

/**
 * A signal that asks the postmaster's process to stop (see the option `handleSignals`).
 *
 * @example
 * ```ts
 * import type { ShutdownSignal } from "bgworker";
 * const ctrlC: ShutdownSignal = "SIGINT";
 * ```
 */
export type ShutdownSignal = "SIGTERM" | "SIGINT" | "SIGQUIT";

/**
 * What a worker's process gets beyond its runtime's defaults (the worker
 * options `env` and `cwd`).
 *
 * @example
 * ```ts
 * import type { SpawnOptions } from "bgworker";
 * const options: SpawnOptions = { env: { MODE: "batch" }, cwd: "/srv/jobs" };
 * ```
 */
export interface SpawnOptions {
  /** Added to the environment the worker would get. */
  env?: Record<string, string>;
  /** The worker's working directory. */
  cwd?: string;
  /** Read the process's stdout and stderr line by line into `WorkerProcessEvents.output`, instead of sharing the postmaster's. */
  captureOutput?: boolean;
  /** The runtime's heap limit for this process, in MiB (the worker option `memoryLimitMb`). */
  heapLimitMb?: number;
  /**
   * For a spare (spawned with no start message): a TypeScript worker is
   * expected, so get the runtime's TypeScript path ready while the spare
   * waits (on Node before 22.18, load tsx; on later Node without a compile
   * cache, the type stripper). Without it a spare stays lean, and a
   * TypeScript worker given to it loads that path when it starts. A runtime
   * that compiles TypeScript at no extra cost (Deno, Bun) ignores it.
   */
  typeScript?: boolean;
}

/** An opaque timer, as returned by {@link RuntimeAdapter.setTimer}. */
export type TimerId = unknown;

/**
 * Everything the postmaster needs from the runtime it runs on.
 *
 * @example
 * ```ts
 * import type { RuntimeAdapter } from "./adapter.ts";
 * import { Postmaster } from "./postmaster/postmaster.ts";
 * declare const adapter: RuntimeAdapter;
 * const pm = new Postmaster({ adapter });
 * ```
 */
export interface RuntimeAdapter {
  /** The postmaster's own process id. */
  readonly pid: number;
  /** Call `callback` once after `ms` milliseconds. */
  setTimer(ms: number, callback: () => void): TimerId;
  /** Cancel a timer; unknown or fired timers are ignored. */
  clearTimer(timer: TimerId): void;
  /**
   * Run `callback` on the next turn of the event loop (`setImmediate`):
   * after what is pending now, before any timer. Without it, a promise job.
   */
  defer?(callback: () => void): void;
  /**
   * Start a worker process and deliver `start` to it as its first message,
   * or, with `null`, a spare that waits for its start message (sent later
   * with `send`). Throws when no process could be created (PostgreSQL's
   * "could not fork").
   */
  spawn(start: StartMessage | null, events: WorkerProcessEvents, options?: SpawnOptions): WorkerProcess;
  /** Whether a directory exists at an absolute path (a worker's `cwd`). Without it, a wrong `cwd` fails at spawn. */
  directoryExists?(path: string): boolean;
  /** The postmaster's working directory, absolute. */
  cwd(): string;
  /** Whether a regular file exists at an absolute path. */
  fileExists(path: string): boolean;
  /** Import a module by `file:` URL (for `sharedPreloadLibraries`). */
  importModule(url: string): Promise<Record<string, unknown>>;
  /** Write one finished log line where the runtime writes diagnostics. */
  writeLog(line: string): void;
  /**
   * The runtime's POSIX shared memory, loaded on first use; rejects, saying
   * why, where there is none. Without this method the cluster has no shared
   * memory and everything else works.
   */
  sharedMemory?(): Promise<SharedMemoryMapper>;
  /**
   * A running process's resident memory and CPU time, where the system says
   * (Linux's /proc); null otherwise. Cheap enough for every status call.
   */
  processUsage?(pid: number): { rssBytes: number; cpuSeconds: number } | null;
  /**
   * The signal a worker started with `SpawnOptions.heapLimitMb` dies by when
   * its heap reaches that limit (V8 aborts: SIGABRT on Node, SIGTRAP on
   * Deno); absent where the runtime has no hard heap limit (Bun).
   */
  readonly heapLimitSignal?: string;
  /** Whether a process exists (signal 0); used to find what killed postmasters left. Without it, every process counts as alive. */
  processExists?(pid: number): boolean;
  /**
   * Run `callback` (synchronously) when this process exits normally, even
   * without `stop()`: the shared memory segment is removed then. Returns a
   * function that cancels it.
   */
  atExit?(callback: () => void): () => void;
  /**
   * Listen for SIGTERM, SIGINT and SIGQUIT sent to this process, in place
   * of their default action; returns a function that stops listening.
   * Without it, the option `handleSignals` has no effect.
   */
  catchShutdownSignals?(handler: (signal: ShutdownSignal) => void): () => void;
  /**
   * End this process as `signal`'s default action would, unless the
   * application listens for that signal itself (then do nothing).
   */
  endAsSignal?(signal: ShutdownSignal): void;
  /**
   * Open the control socket at `path` (null: the default place for this
   * process) and hand each valid request to `serve`; the socket is removed
   * at `close()` and when the process exits. Rejects, saying why, when the
   * place is not the user's own or another live postmaster has it.
   */
  serveControl?(path: string | null, serve: ControlService): Promise<ControlServer>;
  /** Start the embedded PostgreSQL server (PostgreSQL 18 from the npm registry). Without it, only a `database.url` serves workers. */
  startEmbeddedDatabase?(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase>;
  /** Open one connection of the postmaster's own (the `cluster` option's). Without it, the option is refused at `start()`. */
  connectDatabase?(url: string, applicationName: string): Promise<PostmasterDatabaseClient>;
  /** This machine's host name, for the default cluster host id. */
  hostName?(): string;
  /** Milliseconds on a clock that never goes back (`performance.now()`), for the cluster's lease fence; `Date.now()` without it. */
  monotonicNow?(): number;
}

/**
 * A connection the postmaster holds: statements, transactions, and close.
 *
 * @example
 * ```ts
 * import type { PostmasterDatabaseClient } from "./adapter.ts";
 * declare const client: PostmasterDatabaseClient;
 * const [row] = await client.query("select now() as at");
 * await client.close();
 * ```
 */
export interface PostmasterDatabaseClient {
  /** Run one statement with parameters `$1`, `$2`, …; resolves with its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Run `body` in a transaction on this connection: COMMIT when it resolves, ROLLBACK when it throws. */
  begin<T>(body: (transaction: PostmasterDatabaseClient) => Promise<T>): Promise<T>;
  /** Close the connection. */
  close(): Promise<void>;
}

/**
 * Settings of the embedded cluster.
 *
 * @example
 * ```ts
 * import type { EmbeddedDatabaseOptions } from "bgworker";
 * const kept: EmbeddedDatabaseOptions = { dataDir: "./pgdata" }; // omitted: a temporary directory, removed at stop
 * ```
 */
export interface EmbeddedDatabaseOptions {
  /** The server's data directory, kept (initdb when new); without it a temporary one, removed at stop. */
  dataDir?: string;
}

/**
 * A running embedded cluster, as the runtime adapter starts it.
 *
 * @example
 * ```ts
 * import type { EmbeddedDatabase } from "./adapter.ts";
 * declare const cluster: EmbeddedDatabase;
 * await cluster.stop();
 * ```
 */
export interface EmbeddedDatabase {
  /** A `postgres://` URL of the cluster's superuser, in database `postgres`, through the server's Unix socket (`?host=<directory>`): the workers'. */
  url: string;
  /** The same over loopback TCP, with a password: what `connectionUrl()` gives, for any client library. */
  tcpUrl: string;
  /** The account the server runs as. */
  account: string;
  /** Stop the server; resolves once it is down. */
  stop(): Promise<void>;
}

/**
 * A client of the control socket, as a request's handler sees it.
 *
 * @example
 * ```ts
 * import type { ControlPeer } from "./adapter.ts";
 * const answer = (peer: ControlPeer) => peer.send({ id: null, ok: true });
 * ```
 */
export interface ControlPeer {
  /** Write one JSON line to the client; dropped once it is gone. */
  send(message: unknown): void;
  /** Call `listener` once the client is gone. */
  onClose(listener: () => void): void;
}

/**
 * What the postmaster does with each valid request on its control socket.
 *
 * @example
 * ```ts
 * import type { ControlService } from "./adapter.ts";
 * const serve: ControlService = (request, peer) => peer.send({ id: request.id ?? null, ok: true });
 * ```
 */
export type ControlService = (request: ControlRequest, peer: ControlPeer) => void;

/**
 * An open control socket.
 *
 * @example
 * ```ts
 * import type { ControlServer } from "./adapter.ts";
 * const shut = (server: ControlServer) => server.close();
 * ```
 */
export interface ControlServer {
  /** Where it listens. */
  readonly path: string;
  /** Stop listening, end the connections, and remove the socket. */
  close(): Promise<void>;
}
