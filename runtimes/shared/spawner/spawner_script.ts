/**
 * The program of the spawner: a small process of the postmaster's own
 * runtime that spawns workers on the postmaster's behalf. It exists because
 * Node and Deno start a child with `fork()`, which copies the page tables of
 * every Buffer and ArrayBuffer the application holds: with 1 GB of them,
 * each `spawn()` held the postmaster's event loop 35-45 ms. The spawner
 * holds next to nothing, so its forks stay at a millisecond, and none of
 * them runs on the postmaster's loop.
 *
 * It hands each worker's channel (and, when output is captured, its stdout
 * and stderr) to the postmaster over its own IPC channel, which passes the
 * descriptors themselves: the postmaster then talks to the worker directly,
 * as if it had spawned it. The spawner reports the worker's pid and, later,
 * how it exited. It leaves when its channel to the postmaster closes or it
 * finds itself re-parented; what it spawned and still runs gets SIGKILL
 * after the watchdog's grace, as the watchdog would (the postmaster may have
 * died before it learned a pid to tell the watchdog).
 * SIGHUP, SIGUSR1 and SIGUSR2 sent to it (a worker signalling its parent)
 * go on to the postmaster; stop signals are ignored (see the script).
 *
 * Plain JavaScript in a string, run with `node -e` or `deno eval`: no file
 * to find in sources or in dist/, and no TypeScript loader to boot.
 *
 * @module
 */

import { REAP_AFTER_MS } from "../group_reaper.ts";

/** Milliseconds between the spawner's checks that its parent, the postmaster, is still there. */
const PARENT_CHECK_MS = 100;

/**
 * What the postmaster asks of the spawner.
 *
 * @example
 * ```ts
 * import type { SpawnerRequest } from "./spawner_script.ts";
 * const request: SpawnerRequest = {
 *   op: "spawn", id: 1, execPath: "/usr/bin/node", args: ["worker_main.js"], env: {}, argv0: "bgworker: spare", capture: false,
 * };
 * ```
 */
export interface SpawnerRequest {
  /** Spawn a worker; the other message the postmaster sends is `{ op: "ack" }`, for each reply it received. */
  op: "spawn";
  /** Names the worker in every reply. */
  id: number;
  /** The runtime's binary. */
  execPath: string;
  /** Its arguments, ending with the worker entry. */
  args: string[];
  /** The worker's whole environment. */
  env: Record<string, string | undefined>;
  /** The worker's working directory; the spawner's (the postmaster's) without it. */
  cwd?: string;
  /** The title `ps` shows until the worker sets its own. */
  argv0: string;
  /** Whether stdout and stderr come back as pipes (the postmaster reads them) or are the postmaster's own. */
  capture: boolean;
}

/**
 * What the spawner says of a worker: its pid (with the channel's descriptor
 * attached), each captured stream (with its descriptor), the spawn's
 * failure, or its exit.
 *
 * @example
 * ```ts
 * import type { SpawnerReply } from "./spawner_script.ts";
 * const exited: SpawnerReply = { id: 1, exit: true, code: 0, signal: null };
 * ```
 */
export type SpawnerReply =
  | { id: number; pid: number }
  | { id: number; stream: "stdout" | "stderr" }
  | { id: number; error: string }
  | { id: number; exit: true; code: number | null; signal: string | null };

/**
 * The spawner's program. Workers are spawned exactly as the postmaster
 * spawned them before: their own process group and session (`detached`),
 * the channel on descriptor 3. It runs in a session of its own, so a
 * terminal's Ctrl-C never reaches it.
 *
 * @example
 * ```ts
 * import { SPAWNER_SCRIPT } from "./spawner_script.ts";
 * const args = ["--input-type=module", "-e", SPAWNER_SCRIPT];
 * ```
 */
export const SPAWNER_SCRIPT = `
import { spawn } from "node:child_process";
import process from "node:process";
import { setInterval, setTimeout } from "node:timers";
const children = new Set();
try {
  process.title = "bgworker: spawner";
} catch {}
// A worker that signals its parent means the postmaster, whose child it was before there was a spawner.
const postmaster = process.ppid;
for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"]) {
  process.on(signal, () => {
    try {
      process.kill(postmaster, signal);
    } catch {}
  });
}
// Stop signals reach it only from a stop of the whole group (systemd's default KillMode), which gives the
// postmaster its own: passed on, a second SIGTERM would turn its fast stop into an immediate one. It leaves
// with the postmaster's channel instead.
for (const signal of ["SIGINT", "SIGTERM", "SIGQUIT"]) process.on(signal, () => {});
// One message in flight at a time, each acknowledged by the postmaster before the next is sent: Deno's IPC
// loses a message with a descriptor that arrives in one read with another message.
const outbox = [];
let awaitingAck = false;
const flush = () => {
  while (!awaitingAck && outbox.length > 0) {
    const [message, handle] = outbox.shift();
    try {
      if (process.connected) process.send(message, handle);
    } catch {}
    awaitingAck = true;
  }
};
const reply = (message, handle) => {
  outbox.push([message, handle]);
  flush();
};
process.on("message", (request) => {
  if (request && request.op === "ack") {
    awaitingAck = false;
    return flush();
  }
  if (!request || request.op !== "spawn") return;
  const id = request.id;
  let child;
  try {
    const output = request.capture ? "pipe" : "inherit";
    child = spawn(request.execPath, request.args, {
      argv0: request.argv0,
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ["ignore", output, output, "pipe"],
    });
  } catch (error) {
    return reply({ id, error: String(error && error.message || error) });
  }
  if (child.pid === undefined || !child.stdio[3]) {
    child.once("error", (error) => reply({ id, error: String(error && error.message || error) }));
    return;
  }
  child.on("error", () => {});
  // Node starts reading every pipe it makes; whatever it read here before the pipe was handed on (a spare's
  // "ready", waiting behind other replies for its turn) would be lost with it. The bytes stay in the pipe.
  for (const pipe of [child.stdio[3], child.stdout, child.stderr]) {
    if (pipe && pipe._handle && typeof pipe._handle.readStop === "function") {
      pipe._handle.reading = false;
      pipe._handle.readStop();
    }
  }
  reply({ id, pid: child.pid }, child.stdio[3]);
  if (request.capture) {
    reply({ id, stream: "stdout" }, child.stdout);
    reply({ id, stream: "stderr" }, child.stderr);
  }
  children.add(child.pid);
  child.on("exit", (code, signal) => {
    children.delete(child.pid);
    reply({ id, exit: true, code, signal });
  });
});
let leaving = false;
const leave = () => {
  if (leaving) return;
  leaving = true;
  if (children.size === 0) process.exit(0);
  // A worker whose pid had not reached the postmaster yet is unknown to its watchdog: end it as the watchdog
  // ends the others, after the same grace.
  setTimeout(() => {
    for (const pid of children) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    process.exit(0);
  }, ${REAP_AFTER_MS});
};
process.on("disconnect", leave);
// A reply to a postmaster that just died fails asynchronously on some runtimes (Deno's broken pipe): leave as if told.
process.on("uncaughtException", leave);
process.on("unhandledRejection", leave);
// Not "disconnect" alone: Node keeps a channel whose peer is gone open while a descriptor it sent waits for
// its acknowledgement, so a postmaster that died during a spawn is seen by this process being re-parented.
setInterval(() => process.ppid !== postmaster && leave(), ${PARENT_CHECK_MS}).unref();
`;
