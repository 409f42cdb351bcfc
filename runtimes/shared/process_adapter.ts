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
import { MAX_MESSAGE_BYTES, type StartMessage } from "../../src/protocol.ts";
import type { SignalName } from "../../src/signal_names.ts";
import { forgetGroup, watchGroup } from "./group_reaper.ts";
import { createLineReader } from "./line_reader.ts";
import { serveControl } from "./control/control_server.ts";
import { atExit } from "./exit_callbacks.ts";
import { processExists } from "./process_exists.ts";
import { processUsage } from "./process_usage.ts";
import { runtimeSharedMemory } from "./shared_memory.ts";
import type { WorkerCommand } from "./worker_command.ts";

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
}

/**
 * The worker's channel is a plain socket on this descriptor, which the
 * worker's runtime takes for its IPC channel (`process.send`). The postmaster
 * side reads it with a bounded parser of its own; see line_reader.ts.
 */
const CHANNEL_FD = 3;

/** The title of a spare process until it is given a worker (which then sets its own, where the runtime can). */
const SPARE_TITLE = "bgworker: spare";

/** The longest line of a worker's output handed over whole; longer ones are cut there (1 MiB). */
const MAX_OUTPUT_LINE_BYTES = 1 << 20;

/** Bytes of messages a worker may leave unread before it counts as broken. */
const MAX_UNREAD_BYTES = 4 * MAX_MESSAGE_BYTES;

/**
 * Milliseconds to wait, after a worker's exit event, for its IPC channel to
 * close: messages sent just before exit can arrive after the exit event
 * (Bun), and the core expects every message before the exit.
 */
const DRAIN_AFTER_EXIT_MS = 200;

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
  return {
    pid: process.pid,
    setTimer: (ms, callback) => setTimeout(callback, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    defer: (callback) => void setImmediate(callback),
    spawn: (start, events, options = {}) => spawnWorker(command(start, options), start, events, options),
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

function spawnWorker(
  command: WorkerCommand,
  start: StartMessage | null,
  events: WorkerProcessEvents,
  options: SpawnOptions = {},
): WorkerProcess {
  const child = spawn(command.execPath, command.args, {
    // Shown by ps from the first instant, and room for the worker to set the same title itself
    // (Node keeps a title within the length of its original command line; Bun cannot set one at all).
    argv0: start?.title ?? SPARE_TITLE,
    stdio: ["ignore", options.captureOutput ? "pipe" : "inherit", options.captureOutput ? "pipe" : "inherit", "pipe"],
    env: workerEnvironment({ ...command.env, ...options.env }),
    cwd: options.cwd,
    // Its own process group (and session): the postmaster signals the group, so what the worker spawned
    // gets the same signal, and the terminal's Ctrl-C reaches the postmaster only, which decides.
    detached: true,
  });
  // A failed spawn also emits "error" later; without a listener it would crash the postmaster.
  child.on("error", () => {});
  const channel = child.stdio[CHANNEL_FD] as Duplex | null | undefined;
  if (child.pid === undefined || !channel) throw new Error(`could not spawn ${command.execPath}`);
  const pid = child.pid;
  watchGroup(pid);

  let exited: { code: number | null; signal: string | null } | null = null;
  let open = true;
  let reported = false;
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  const report = () => {
    if (reported || !exited) return;
    reported = true;
    if (drainTimer) clearTimeout(drainTimer);
    events.exit(exited.code, exited.signal);
  };
  const close = () => {
    open = false;
    channel.destroy();
    report();
  };
  const violation = (reason: string) => {
    if (!open) return;
    // Report first, so that the postmaster's SIGKILL lands before the worker sees its channel close and exits on its own.
    if (!exited) events.protocolError(reason);
    close();
  };

  for (const stream of options.captureOutput ? (["stdout", "stderr"] as const) : []) {
    const pipe = child[stream];
    if (!pipe) continue;
    // Bounded: a line longer than MAX_OUTPUT_LINE_BYTES is cut there and the rest dropped, so a 10 MB line costs 1 MiB.
    const reader = createLineReader(MAX_OUTPUT_LINE_BYTES, {
      line: (text, cut) => events.output?.(stream, text, cut),
      overflow: () => {},
    }, "cut");
    pipe.on("data", reader);
    pipe.on("end", () => reader.end());
    pipe.on("error", () => {});
  }
  channel.on("error", () => {}); // EPIPE and the like: the close that follows says all.
  channel.on("close", close);
  channel.on(
    "data",
    createLineReader(MAX_MESSAGE_BYTES, {
      line(text) {
        if (!open || reported) return;
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          return violation(`sent ${JSON.stringify(text.slice(0, 40))}, which is not a JSON message`);
        }
        events.message(message);
      },
      overflow: () => violation(`sent a message longer than ${MAX_MESSAGE_BYTES} bytes`),
    }),
  );
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    // What is left of its group (a descendant it spawned) goes with it, as under systemd's KillMode=control-group.
    signalGroup(pid, "SIGKILL");
    forgetGroup(pid);
    if (!open) return report();
    drainTimer = setTimeout(report, DRAIN_AFTER_EXIT_MS);
  });

  const worker: WorkerProcess = {
    pid,
    send(message) {
      if (!open) return;
      // A worker that stops reading must not make the postmaster buffer without end.
      if (channel.writableLength > MAX_UNREAD_BYTES) {
        return violation(`left more than ${MAX_UNREAD_BYTES} bytes of messages unread`);
      }
      channel.write(JSON.stringify(message) + "\n");
    },
    kill(signal: SignalName) {
      if (!exited) signalGroup(pid, signal);
    },
  };
  if (start) worker.send(start);
  return worker;
}

/**
 * Signal a worker's process group: the worker and what it spawned. With
 * process.kill, not child.kill: Deno's child.kill misreports the exit code.
 */
function signalGroup(pgid: number, signal: SignalName): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone: its exit event is on the way, or came already.
  }
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
