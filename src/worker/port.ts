/**
 * What worker-side code needs from the runtime: the worker's half of the
 * adapter boundary. `src/worker` uses nothing else.
 *
 * @module
 */

import type { SharedMemoryMapper } from "../shmem/mapper.ts";
import type { SignalName } from "../signal_names.ts";

/**
 * The worker process's view of its runtime.
 *
 * @example
 * ```ts
 * import type { WorkerPort } from "./port.ts";
 * declare const port: WorkerPort;
 * await port.send({ type: "started" });
 * ```
 */
export interface WorkerPort {
  /** This process's id (`MyProcPid`). */
  readonly pid: number;
  /** The current parent process id; changes when the postmaster dies and the worker is re-parented. */
  parentPid(): number;
  /** Send on the channel to the postmaster; resolves once written (or at once if the channel is closed). */
  send(message: unknown): Promise<void>;
  /** Receive messages from the postmaster. */
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the channel to the postmaster closes: the postmaster is gone. */
  onDisconnect(listener: () => void): void;
  /**
   * Install the process's handler for a signal (replacing the runtime's
   * default action); the returned function removes it, which restores the
   * operating system's default action.
   */
  onSignal(signal: SignalName, listener: () => void): () => void;
  /**
   * False on a runtime where removing a signal's last listener leaves the
   * runtime's own handler in place (the signal is then swallowed, not the
   * kernel's default action): SIGTERM then always goes through the
   * listener. Omitted means the removal restores the default action, as on
   * Node 20 and 24, Deno and Bun (see sigterm_route.ts).
   */
  readonly restoresDefaultAction?: boolean;
  /** Send a signal to this process. */
  raise(signal: SignalName): void;
  /** Errors nobody caught: thrown in a callback, or a rejected promise nobody handled. */
  onUncaught(listener: (error: unknown) => void): void;
  /** End the process now with an exit code. */
  exit(code: number): never;
  /** Set the process title, where the runtime allows it. */
  setTitle(title: string): void;
  /** Write one finished log line to the diagnostics stream. */
  writeLog(line: string): void;
  /** Import a module by URL. */
  importModule(url: string): Promise<Record<string, unknown>>;
  /** Call `callback` once after `ms` milliseconds. */
  setTimer(ms: number, callback: () => void): unknown;
  /** Cancel a timer. */
  clearTimer(timer: unknown): void;
  /** The runtime's POSIX shared memory, loaded on first use (the same promise every time). */
  sharedMemory(): Promise<SharedMemoryMapper>;
  /** Open one connection to a PostgreSQL cluster; `database` and `user` replace the URL's own. */
  connectDatabase(
    url: string,
    target: { database?: string; user?: string; applicationName?: string },
  ): Promise<DatabaseClient>;
}

/**
 * One open connection, as the runtime's PostgreSQL client gives it.
 *
 * @example
 * ```ts
 * import type { DatabaseClient } from "./port.ts";
 * declare const client: DatabaseClient;
 * const rows = await client.query("select $1::int + 1 as n", [41]);
 * ```
 */
export interface DatabaseClient {
  /** Run one statement with parameters `$1`, `$2`, …; resolves with its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Run `body` in a transaction on this connection: COMMIT when it resolves, ROLLBACK when it throws. */
  begin<T>(body: (transaction: DatabaseClient) => Promise<T>): Promise<T>;
  /** Close the connection. */
  close(): Promise<void>;
}
