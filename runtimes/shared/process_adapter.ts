/**
 * A RuntimeAdapter over `node:child_process`, which Node, Deno and Bun all
 * implement with the same JSON IPC channel. Each runtime's leaf supplies the
 * command line that boots a worker on it, and the capabilities it offers
 * beyond processes (the embedded database): this file imports no leaf and no
 * optional package.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import type { Duplex } from "node:stream";
import { setImmediate } from "node:timers";
import type {
  EmbeddedDatabase,
  EmbeddedDatabaseOptions,
  RuntimeAdapter,
  ShutdownSignal,
  SpawnOptions,
  WorkerProcess,
  WorkerProcessEvents,
} from "../../src/adapter.ts";
import type { StartMessage } from "../../src/protocol.ts";
import { serveControl } from "./control/control_server.ts";
import { connectDatabase } from "./database_client.ts";
import { atExit } from "./exit_callbacks.ts";
import { processExists } from "./process_exists.ts";
import { processUsage } from "./process_usage.ts";
import { runtimeSharedMemory } from "./shared_memory.ts";
import { Spawner } from "./spawner/spawner.ts";
import type { SpawnerRequest } from "./spawner/spawner_script.ts";
import type { WorkerCommand } from "./worker_command.ts";
import { assembleWorkerProcess, type WorkerProcessParts } from "./worker_process.ts";
import { STAND_IN_PARENT_VARIABLE } from "./worker_port.ts";

/**
 * What a leaf gives the process adapter besides the command line. Each is
 * optional: the adapter lacks what it is not given, and the core says so
 * when it is asked for.
 *
 * @example
 * ```ts
 * import type { ProcessAdapterCapabilities } from "./process_adapter.ts";
 * import { startEmbeddedDatabase } from "./embedded/embedded_database.ts";
 * const capabilities: ProcessAdapterCapabilities = { startEmbeddedDatabase };
 * ```
 */
export interface ProcessAdapterCapabilities {
  /** Start the embedded PostgreSQL cluster; without it, only a `database.url` serves workers. */
  startEmbeddedDatabase?: (options: EmbeddedDatabaseOptions) => Promise<EmbeddedDatabase>;
  /** The signal the runtime dies by when a worker reaches its heap limit (`RuntimeAdapter.heapLimitSignal`). */
  heapLimitSignal?: string;
  /**
   * How to start a spawner (spawner/spawner_script.ts), on a runtime whose
   * spawn forks: its fork then copies a small process, not the application.
   * Without it, workers are spawned from the postmaster's own loop.
   */
  spawnerCommand?: WorkerCommand;
  /**
   * Spawn the worker some other way (socket_launch.ts); false when it
   * cannot here, and the spawner or the postmaster's own spawn does.
   */
  launch?: (request: Omit<SpawnerRequest, "op" | "id">, parts: WorkerProcessParts) => boolean;
}

/**
 * The worker's channel is a plain socket on this descriptor, which the
 * worker's runtime takes for its IPC channel (`process.send`). The postmaster
 * side reads it with a bounded parser of its own; see line_reader.ts.
 */
const CHANNEL_FD = 3;

/** The title of a spare process until it is given a worker (which then sets its own, where the runtime can). */
const SPARE_TITLE = "bgworker: spare";

/**
 * Build a RuntimeAdapter that spawns workers with `node:child_process`.
 *
 * @example
 * ```ts
 * import { bootstrapPath } from "./bootstrap_path.ts";
 * import { startEmbeddedDatabase } from "./embedded/embedded_database.ts";
 * import { createProcessAdapter } from "./process_adapter.ts";
 * const adapter = createProcessAdapter(() => ({ execPath: process.execPath, args: [bootstrapPath()] }), { startEmbeddedDatabase });
 * ```
 */
export function createProcessAdapter(
  command: (start: StartMessage | null, options: SpawnOptions) => WorkerCommand,
  capabilities: ProcessAdapterCapabilities = {},
): RuntimeAdapter {
  const spawner = capabilities.spawnerCommand ? sharedSpawner(capabilities.spawnerCommand) : null;
  return {
    pid: process.pid,
    setTimer: (ms, callback) => setTimeout(callback, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    defer: (callback) => void setImmediate(callback),
    spawn: (start, events, options = {}) =>
      spawnWorker(command(start, options), start, events, options, spawner, capabilities.launch),
    directoryExists: (path) => {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    cwd: () => process.cwd(),
    fileExists: (path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    },
    importModule: (url) => import(url),
    writeLog: (line) => void process.stderr.write(line + "\n"),
    sharedMemory: runtimeSharedMemory,
    processExists,
    processUsage,
    atExit,
    startEmbeddedDatabase: capabilities.startEmbeddedDatabase,
    // The postgres package is loaded on the first call only: a postmaster without a cluster never loads it.
    connectDatabase: (url, applicationName) => connectDatabase(url, { applicationName }),
    hostName: () => hostname(),
    monotonicNow: () => performance.now(),
    heapLimitSignal: capabilities.heapLimitSignal,
    serveControl,
    catchShutdownSignals(handler) {
      const listeners = SHUTDOWN_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
      for (const [signal, listener] of listeners) process.on(signal, listener);
      return () => {
        for (const [signal, listener] of listeners) process.off(signal, listener);
      };
    },
    endAsSignal(signal) {
      // With no listener left, the runtime has given the signal back its default action: raising it ends the process.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    },
  };
}

const SHUTDOWN_SIGNALS: readonly ShutdownSignal[] = ["SIGTERM", "SIGINT", "SIGQUIT"];

const spawners = new Map<string, Spawner>();

/** One spawner per command in the process, whatever the number of postmasters. */
function sharedSpawner(command: WorkerCommand): Spawner {
  const key = JSON.stringify(command);
  let spawner = spawners.get(key);
  if (!spawner) spawners.set(key, spawner = new Spawner(command));
  return spawner;
}

function spawnWorker(
  command: WorkerCommand,
  start: StartMessage | null,
  events: WorkerProcessEvents,
  options: SpawnOptions,
  spawner: Spawner | null,
  launch: ProcessAdapterCapabilities["launch"],
): WorkerProcess {
  const parts = assembleWorkerProcess(events);
  const request = {
    execPath: command.execPath,
    args: command.args,
    env: workerEnvironment({ ...command.env, ...options.env }),
    cwd: options.cwd,
    // Shown by ps from the first instant, and room for the worker to set the same title itself
    // (Node keeps a title within the length of its original command line; Bun cannot set one at all).
    argv0: start?.title ?? SPARE_TITLE,
    capture: options.captureOutput ?? false,
  };
  // Through the spawner, the answers come as messages, and the worker's parent is the spawner.
  const launched = launch?.(request, parts) ?? false;
  if (!launched && (!spawner || !spawnThrough(spawner, request, parts, events))) spawnDirectly(request, parts);
  if (start) parts.worker.send(start);
  return parts.worker;
}

/** Ask the spawner for the worker; false when no spawner can start (then the postmaster spawns it itself). */
function spawnThrough(
  spawner: Spawner,
  request: Omit<SpawnerRequest, "op" | "id">,
  parts: WorkerProcessParts,
  events: WorkerProcessEvents,
): boolean {
  try {
    // The worker's parent stands in for the postmaster in its postmasterIsAlive() (see worker_port.ts).
    spawner.spawn({ ...request, env: { ...request.env, [STAND_IN_PARENT_VARIABLE]: String(process.pid) } }, {
      spawned: parts.spawned,
      output: parts.output,
      exited: parts.exited,
      failed(reason) {
        events.spawnFailed?.(reason);
        parts.exited(1, null);
      },
      lost() {
        // Nobody is left to tell how the worker ends: end it, as a crash (the reaper's SIGKILL, a moment early).
        parts.worker.kill("SIGKILL");
        parts.exited(null, "SIGKILL");
      },
    });
    return true;
  } catch {
    return false;
  }
}

/** Spawn on the postmaster's own loop: where the runtime does not fork (Bun's vfork), or there is no spawner. */
function spawnDirectly(request: Omit<SpawnerRequest, "op" | "id">, parts: WorkerProcessParts): void {
  const output = request.capture ? "pipe" : "inherit";
  const child = spawn(request.execPath, request.args, {
    argv0: request.argv0,
    stdio: ["ignore", output, output, "pipe"],
    env: request.env,
    cwd: request.cwd,
    // Its own process group (and session): the postmaster signals the group, so what the worker spawned
    // gets the same signal, and the terminal's Ctrl-C reaches the postmaster only, which decides.
    detached: true,
  });
  // A failed spawn also emits "error" later; without a listener it would crash the postmaster.
  child.on("error", () => {});
  const channel = child.stdio[CHANNEL_FD] as Duplex | null | undefined;
  if (child.pid === undefined || !channel) throw new Error(`could not spawn ${request.execPath}`);
  child.on("exit", (code, signal) => parts.exited(code, signal));
  parts.spawned(child.pid, channel);
  if (child.stdout) parts.output("stdout", child.stdout);
  if (child.stderr) parts.output("stderr", child.stderr);
}

/** The postmaster's environment for a worker, less what only a test runner's own children should see. */
function workerEnvironment(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...extra,
    // The worker's runtime opens its IPC channel on this descriptor, as if forked with an "ipc" slot.
    NODE_CHANNEL_FD: String(CHANNEL_FD),
    NODE_CHANNEL_SERIALIZATION_MODE: "json",
  };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
