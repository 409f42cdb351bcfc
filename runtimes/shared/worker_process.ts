/**
 * A worker process as the postmaster sees it, put together from what the
 * spawn gives, whenever it gives it: the pid, the channel, the captured
 * output and the exit. Spawned by the postmaster itself, all but the exit
 * come at once; through the spawner (spawner/), they come a message later;
 * over a socket channel (socket_launch.ts), the pid comes at once and the
 * channel when the worker connects. Until then, messages wait in order and a
 * SIGKILL waits for the pid (the core holds every other signal until the
 * worker reports in, which needs the channel).
 *
 * @module
 */

import process from "node:process";
import type { Duplex, Readable } from "node:stream";
import type { WorkerProcess, WorkerProcessEvents } from "../../src/adapter.ts";
import { MAX_MESSAGE_BYTES } from "../../src/protocol.ts";
import type { SignalName } from "../../src/signal_names.ts";
import { forgetGroup, watchGroup } from "./group_reaper.ts";
import { createLineReader } from "./line_reader.ts";

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
 * The spawn's side of a worker process: it feeds these as the pieces come.
 *
 * @example
 * ```ts
 * import { assembleWorkerProcess } from "./worker_process.ts";
 * const parts = assembleWorkerProcess({ message() {}, protocolError() {}, exit() {} });
 * parts.exited(0, null);
 * ```
 */
export interface WorkerProcessParts {
  /** What the core holds. */
  readonly worker: WorkerProcess;
  /** The process exists; its channel with it, or `null` when it comes later (`connected`). */
  spawned(pid: number, channel: Duplex | null): void;
  /** The channel of a process `spawned` without one, and the bytes already read from it past its handshake. */
  connected(channel: Duplex, head?: Uint8Array): void;
  /** One of its captured streams. */
  output(stream: "stdout" | "stderr", readable: Readable): void;
  /** It exited with `code`, or was killed by `signal`. */
  exited(code: number | null, signal: string | null): void;
}

/**
 * Build a worker process whose pieces come later; `events` hears of it as
 * the core expects: every message, then one exit.
 *
 * @example
 * ```ts
 * import { assembleWorkerProcess } from "./worker_process.ts";
 * const { worker } = assembleWorkerProcess({ message: (m) => console.log(m), protocolError() {}, exit() {} });
 * worker.send({ type: "ping" }); // waits for the channel
 * ```
 */
export function assembleWorkerProcess(events: WorkerProcessEvents): WorkerProcessParts {
  let pid = 0;
  let channel: Duplex | null = null;
  const unsent: string[] = [];
  let killWhenKnown = false;
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
    channel?.destroy();
    report();
  };
  const violation = (reason: string) => {
    if (!open) return;
    // Report first, so that the postmaster's SIGKILL lands before the worker sees its channel close and exits on its own.
    if (!exited) events.protocolError(reason);
    close();
  };
  const write = (line: string) => {
    if (!open || !channel) return;
    // A worker that stops reading must not make the postmaster buffer without end.
    if (channel.writableLength > MAX_UNREAD_BYTES) {
      return violation(`left more than ${MAX_UNREAD_BYTES} bytes of messages unread`);
    }
    channel.write(line);
  };
  const readMessages = createLineReader(MAX_MESSAGE_BYTES, {
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
  });

  const attach = (newChannel: Duplex) => {
    channel = newChannel;
    channel.on("error", () => {}); // EPIPE and the like: the close that follows says all.
    channel.on("close", close);
    channel.on("data", readMessages);
    for (const line of unsent.splice(0)) write(line);
  };

  const worker: WorkerProcess = {
    get pid() {
      return pid;
    },
    send(message) {
      const line = JSON.stringify(message) + "\n";
      if (channel) write(line);
      else if (open) unsent.push(line);
    },
    kill(signal: SignalName) {
      if (exited) return;
      if (pid && signal === "SIGKILL") killProcess(pid);
      else if (pid) signalGroup(pid, signal);
      else if (signal === "SIGKILL") killWhenKnown = true;
    },
  };

  return {
    worker,
    spawned(spawnedPid, spawnedChannel) {
      pid = spawnedPid;
      watchGroup(pid);
      if (spawnedChannel) attach(spawnedChannel);
      if (killWhenKnown && !exited) killProcess(pid);
    },
    connected(lateChannel, head) {
      // Too late (its exit was told) or twice: nobody reads it.
      if (!open || channel) return void lateChannel.destroy();
      attach(lateChannel);
      if (head && head.length > 0) readMessages(head);
      // The exit came first and waits in the drain: the channel's close now tells it, once the messages are read.
    },
    output(stream, readable) {
      // Bounded: a line longer than MAX_OUTPUT_LINE_BYTES is cut there and the rest dropped, so a 10 MB line costs 1 MiB.
      const reader = createLineReader(MAX_OUTPUT_LINE_BYTES, {
        line: (text, cut) => events.output?.(stream, text, cut),
        overflow: () => {},
      }, "cut");
      readable.on("data", reader);
      readable.on("end", () => reader.end());
      readable.on("error", () => {});
    },
    exited(code, signal) {
      if (exited) return;
      exited = { code, signal };
      if (pid) {
        // What is left of its group (a descendant it spawned) goes with it, as under systemd's KillMode=control-group.
        signalGroup(pid, "SIGKILL");
        forgetGroup(pid);
      }
      // No channel and none to come (a failed spawn): nothing to wait for. A channel that was to come later
      // may be waiting to be accepted, with the worker's last messages: the drain waits for it as for a close.
      if (!open || (!channel && !pid)) {
        open = false;
        return report();
      }
      drainTimer = setTimeout(() => {
        if (!channel) open = false;
        report();
      }, DRAIN_AFTER_EXIT_MS);
    },
  };
}

/**
 * SIGKILL for a live worker: its group, or the worker alone while it has no
 * group yet (socket_launch.ts: the first instant, before `setsid` makes the
 * group). Only for a worker whose exit has not been seen: its pid is still its own.
 */
function killProcess(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone: its exit event is on the way.
    }
  }
}

/**
 * Signal a worker's process group: the worker and what it spawned. With
 * process.kill, not child.kill: Deno's child.kill misreports the exit code.
 *
 * @example
 * ```ts
 * import { signalGroup } from "./worker_process.ts";
 * signalGroup(12345, "SIGTERM");
 * ```
 */
export function signalGroup(pgid: number, signal: SignalName): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone: its exit event is on the way, or came already.
  }
}
