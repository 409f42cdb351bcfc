/**
 * The postmaster's side of the spawner (see spawner_script.ts): one spawner
 * process per postmaster process, started with the first worker, shared by
 * every postmaster in it, and never keeping the application alive while no
 * worker runs.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { Duplex, Readable } from "node:stream";
import type { WorkerCommand } from "../worker_command.ts";
import type { SpawnerReply, SpawnerRequest } from "./spawner_script.ts";

/**
 * What the spawner tells of one worker, in this order: `spawned` (or
 * `failed`), then each captured stream, then `exited`; or `lost` when the
 * spawner itself died first.
 *
 * @example
 * ```ts
 * import type { SpawnReplies } from "./spawner.ts";
 * const replies: SpawnReplies = {
 *   spawned: (pid) => console.log("pid", pid),
 *   output: () => {},
 *   exited: (code, signal) => console.log(code, signal),
 *   failed: (reason) => console.error(reason),
 *   lost: () => console.error("spawner gone"),
 * };
 * ```
 */
export interface SpawnReplies {
  /** The worker exists: its pid, and the postmaster's end of its channel. */
  spawned(pid: number, channel: Duplex): void;
  /** The postmaster's end of a captured stream. */
  output(stream: "stdout" | "stderr", readable: Readable): void;
  /** The worker exited with `code`, or was killed by `signal`. */
  exited(code: number | null, signal: string | null): void;
  /** No worker was spawned. */
  failed(reason: string): void;
  /** The spawner died: what became of the worker will not be told. */
  lost(): void;
}

/** The title `ps` shows for the spawner. */
const SPAWNER_TITLE = "bgworker: spawner";

/**
 * Spawns workers through a spawner process of the postmaster's runtime.
 *
 * @example
 * ```ts
 * import { Spawner } from "./spawner.ts";
 * import { SPAWNER_SCRIPT } from "./spawner_script.ts";
 * const spawner = new Spawner({ execPath: process.execPath, args: ["--input-type=module", "-e", SPAWNER_SCRIPT] });
 * ```
 */
export class Spawner {
  readonly #command: WorkerCommand;
  #helper: ChildProcess | null = null;
  readonly #waiting = new Map<number, SpawnReplies>();
  #nextId = 1;

  /**
   * A spawner that starts with the first request.
   *
   * @param command how to start the spawner: its runtime and the arguments that run SPAWNER_SCRIPT
   */
  constructor(command: WorkerCommand) {
    this.#command = command;
  }

  /**
   * Ask for a worker; the answers come through `replies`. Throws only when
   * no spawner can be started at all.
   */
  spawn(request: Omit<SpawnerRequest, "op" | "id">, replies: SpawnReplies): void {
    const helper = this.#ensure();
    const id = this.#nextId++;
    this.#waiting.set(id, replies);
    this.#holdOpen(true);
    helper.send({ op: "spawn", id, ...request } satisfies SpawnerRequest);
  }

  /** The spawner's pid, when it runs (for tests and `ps`). */
  get pid(): number | undefined {
    return this.#helper?.pid;
  }

  #ensure(): ChildProcess {
    if (this.#helper) return this.#helper;
    const helper = spawn(this.#command.execPath, this.#command.args, {
      argv0: SPAWNER_TITLE,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, ...this.#command.env },
      // Its own session: a terminal's Ctrl-C reaches the postmaster, which decides, not the spawner.
      detached: true,
    });
    if (helper.pid === undefined) throw new Error(`could not start the spawner (${this.#command.execPath})`);
    helper.on("error", () => {});
    helper.on("message", (message: SpawnerReply, handle?: unknown) => this.#onReply(message, handle));
    helper.once("exit", () => this.#onGone(helper));
    helper.unref();
    this.#helper = helper;
    this.#holdOpen(false);
    return helper;
  }

  /** Keep the application alive through the spawner's channel while it has workers to tell of, and only then. */
  #holdOpen(hold: boolean): void {
    const channel = (this.#helper as { channel?: { ref?: () => void; unref?: () => void } } | null)?.channel;
    if (hold) channel?.ref?.();
    else if (this.#waiting.size === 0) channel?.unref?.();
  }

  #onReply(message: SpawnerReply, handle: unknown): void {
    // The spawner sends its next message only after this (see spawner_script.ts).
    this.#helper?.send({ op: "ack" });
    const replies = this.#waiting.get(message.id);
    if (!replies) return (handle as { destroy?: () => void } | undefined)?.destroy?.();
    if ("pid" in message) return replies.spawned(message.pid, handle as Duplex);
    if ("stream" in message) return replies.output(message.stream, handle as Readable);
    this.#waiting.delete(message.id);
    this.#holdOpen(false);
    if ("error" in message) replies.failed(message.error);
    else replies.exited(message.code, message.signal);
  }

  #onGone(helper: ChildProcess): void {
    if (this.#helper !== helper) return;
    this.#helper = null;
    const orphans = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const replies of orphans) replies.lost();
  }
}
