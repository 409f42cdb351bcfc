/**
 * The WorkerPort over `node:process`, which Node, Deno and Bun all
 * implement: the IPC channel, signals, exit and title of a worker process.
 * Its shared memory is the mapper of the runtime the worker runs on
 * (shared_memory.ts), which need not be its postmaster's.
 *
 * @module
 */

import process from "node:process";
import type { WorkerPort } from "../../src/worker/port.ts";
import { runtimeSharedMemory } from "./shared_memory.ts";
import { socketChannelFromEnvironment, takeVariable, TITLE_VARIABLE, type WorkerChannel } from "./socket_channel.ts";

/**
 * Set in the environment of a worker spawned through the spawner (see
 * spawner/): the postmaster's pid. Its parent is then the spawner, which
 * leaves soon after the postmaster does (whose death the channel tells first), so while the
 * spawner is its parent, `parentPid()` answers the postmaster's pid.
 *
 * @example
 * ```ts
 * import { STAND_IN_PARENT_VARIABLE } from "./worker_port.ts";
 * const spawnedThroughSpawner = process.env[STAND_IN_PARENT_VARIABLE] !== undefined;
 * ```
 */
export const STAND_IN_PARENT_VARIABLE = "BGWORKER_POSTMASTER_PID";

/**
 * Set to "1" in a worker's environment (the worker option `env`) to leave
 * SIGTERM to the kernel's default action once signals are let through
 * (src/worker/sigterm_route.ts); by default it stays on the runtime's
 * listener, which loses no SIGTERM from anywhere, and which the kernel's
 * way only ties with in the bench's conditions.
 *
 * @example
 * ```ts
 * import { KERNEL_SIGTERM_VARIABLE } from "./worker_port.ts";
 * const options = { env: { [KERNEL_SIGTERM_VARIABLE]: "1" } };
 * ```
 */
export const KERNEL_SIGTERM_VARIABLE = "BGWORKER_KERNEL_SIGTERM";

/**
 * What differs between runtimes on the worker side; worker_main.ts fills it
 * in for the runtime it finds itself on.
 *
 * @example
 * ```ts
 * import type { WorkerPortOptions } from "./worker_port.ts";
 * const options: WorkerPortOptions = { afterDisconnect: () => console.error("channel closed") };
 * ```
 */
export interface WorkerPortOptions {
  /** Runs when the channel closes, before the worker hears of it: a place for runtime workarounds. */
  afterDisconnect?: () => void;
}

/**
 * A WorkerPort for this process. The process must have been spawned by a
 * bgworker postmaster, with an IPC channel or a socket channel's address
 * in its environment (socket_channel.ts).
 *
 * @example
 * ```ts
 * import { runBackgroundWorker } from "../../src/worker/bootstrap.ts";
 * import { createProcessWorkerPort } from "./worker_port.ts";
 * runBackgroundWorker(createProcessWorkerPort());
 * ```
 */
export function createProcessWorkerPort(options: WorkerPortOptions = {}): WorkerPort {
  const parentPid = standInParent();
  const channel = socketChannelFromEnvironment() ?? ipcChannel();
  const title = takeVariable(TITLE_VARIABLE);
  if (title) setTitle(title);
  let unsent = 0;
  let exiting: number | null = null;
  const exitNow = (code: number): never => process.exit(code);
  return {
    pid: process.pid,
    parentPid,
    restoresDefaultAction: process.env[KERNEL_SIGTERM_VARIABLE] === "1",
    send(message) {
      if (!channel.connected()) return Promise.resolve();
      unsent++;
      return new Promise((resolve) => {
        channel.send(message, () => {
          unsent--;
          resolve();
          if (exiting !== null && unsent === 0) exitNow(exiting);
        });
      });
    },
    onMessage: (listener) => channel.onMessage(listener),
    onDisconnect(listener) {
      channel.onDisconnect(() => {
        options.afterDisconnect?.();
        listener();
      });
    },
    onSignal(signal, listener) {
      process.on(signal, listener);
      return () => void process.off(signal, listener);
    },
    raise: (signal) => void process.kill(process.pid, signal),
    onUncaught(listener) {
      process.on("uncaughtException", listener);
      process.on("unhandledRejection", listener);
    },
    exit(code) {
      // The first exit decides the code: a procExit(1) still writing its last message is not undone by main returning.
      if (exiting !== null) return undefined as never;
      // Deno can lose a message sent just before exit unless the exit waits for its send callback.
      if (unsent === 0) return exitNow(code);
      exiting = code;
      process.exitCode = code;
      return undefined as never;
    },
    setTitle,
    writeLog: (line) => void process.stderr.write(line + "\n"),
    importModule: (url) => import(url),
    setTimer: (ms, callback) => setTimeout(callback, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    sharedMemory: runtimeSharedMemory,
    connectDatabase: (url, target) => import("./database_client.ts").then((m) => m.connectDatabase(url, target)),
  };
}

/** The runtime's IPC channel, on the descriptor NODE_CHANNEL_FD names (`process.send`). */
function ipcChannel(): WorkerChannel {
  return {
    connected: () => Boolean(process.send && process.connected),
    send(message, done) {
      try {
        process.send!(message, undefined, {}, done);
      } catch {
        done();
      }
    },
    onMessage: (listener) => void process.on("message", listener),
    onDisconnect: (listener) => void process.once("disconnect", listener),
  };
}

function setTitle(title: string): void {
  try {
    process.title = title;
  } catch {
    // Some runtimes do not let a process rename itself.
  }
}

/** The worker's parent as postmasterIsAlive() needs it: the postmaster's pid while the spawner that stands in for it lives. */
function standInParent(): () => number {
  const postmasterPid = Number(process.env[STAND_IN_PARENT_VARIABLE]);
  // Read before anything can happen to the parent: this is the spawner, if there is one.
  const spawnerPid = process.ppid;
  try {
    delete process.env[STAND_IN_PARENT_VARIABLE]; // not for what the worker spawns
  } catch {
    // Deno without the env permission: it stays, harmless.
  }
  if (!Number.isInteger(postmasterPid) || postmasterPid <= 0) return () => process.ppid;
  return () => (process.ppid === spawnerPid ? postmasterPid : process.ppid);
}
