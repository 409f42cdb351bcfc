/**
 * A RuntimeAdapter over `node:child_process`, which Node, Deno and Bun all
 * implement with the same JSON IPC channel. Each runtime supplies only the
 * command line that boots a worker on it.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import process from "node:process";
import type { RuntimeAdapter, WorkerProcess, WorkerProcessEvents } from "../../src/adapter.ts";
import type { StartMessage } from "../../src/protocol.ts";
import type { SignalName } from "../../src/signals.ts";

/**
 * How to start a worker process on one runtime.
 *
 * @example
 * ```ts
 * import type { WorkerCommand } from "./process_adapter.ts";
 * const command: WorkerCommand = { execPath: process.execPath, args: ["worker_main.js"] };
 * ```
 */
export interface WorkerCommand {
  execPath: string;
  args: string[];
  env?: Record<string, string>;
}

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
 * import { createProcessAdapter } from "./process_adapter.ts";
 * const adapter = createProcessAdapter(() => ({ execPath: process.execPath, args: [bootstrapPath] }));
 * ```
 */
export function createProcessAdapter(command: (start: StartMessage) => WorkerCommand): RuntimeAdapter {
  return {
    pid: process.pid,
    now: () => performance.now(),
    setTimer: (ms, callback) => setTimeout(callback, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    spawn: (start, events) => spawnWorker(command(start), start, events),
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
  };
}

function spawnWorker(command: WorkerCommand, start: StartMessage, events: WorkerProcessEvents): WorkerProcess {
  const child = spawn(command.execPath, command.args, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "json",
    env: workerEnvironment(command.env),
  });
  // A failed spawn also emits "error" later; without a listener it would crash the postmaster.
  child.on("error", () => {});
  if (child.pid === undefined) throw new Error(`could not spawn ${command.execPath}`);
  const pid = child.pid;

  let exited: { code: number | null; signal: string | null } | null = null;
  let connected = true;
  let reported = false;
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  const report = () => {
    if (reported || !exited) return;
    reported = true;
    if (drainTimer) clearTimeout(drainTimer);
    events.exit(exited.code, exited.signal);
  };
  child.on("message", (message) => {
    if (!reported) events.message(message);
  });
  child.on("disconnect", () => {
    connected = false;
    report();
  });
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    if (!connected || !child.connected) return report();
    drainTimer = setTimeout(report, DRAIN_AFTER_EXIT_MS);
  });

  const worker: WorkerProcess = {
    pid,
    send(message) {
      if (!child.connected) return;
      try {
        child.send(message as object, (error) => {
          if (error && !exited) events.protocolError(`could not write to its channel: ${error.message}`);
        });
      } catch {
        // The channel closed between the check and the write: the exit event follows.
      }
    },
    kill(signal: SignalName) {
      if (exited) return;
      try {
        // process.kill, not child.kill: Deno's child.kill drops the IPC channel and misreports the exit code.
        process.kill(pid, signal);
      } catch {
        // Already gone: its exit event is on the way.
      }
    },
  };
  worker.send(start);
  return worker;
}

/** The postmaster's environment for a worker, less what only a test runner's own children should see. */
function workerEnvironment(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
