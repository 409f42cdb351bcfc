/**
 * What a worker says on its channel: that it started, a log line, or a
 * request (register, getpid, terminate, database), each answered by a
 * reply. A worker's channel is untrusted input: anything that is not a
 * message costs the worker its process, never the postmaster.
 *
 * @module
 */

import type { WorkerProcess } from "../adapter.ts";
import { BackgroundWorkerError } from "../errors.ts";
import { parseWorkerMessage, type RequestMessage, toWireError } from "../protocol.ts";
import { decodeWorkerEntry } from "../worker_spec.ts";
import type { PostmasterContext } from "./context.ts";
import { identityOf, workerEvent } from "./events.ts";
import { SlotTable, type WorkerSlot } from "./slot_table.ts";

/**
 * Handles messages from worker processes.
 *
 * @example
 * ```ts
 * import { ChannelRequests } from "./channel_requests.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * const channel = new ChannelRequests(ctx);
 * ```
 */
export class ChannelRequests {
  readonly #ctx: PostmasterContext;

  /** @param ctx the postmaster's rooms */
  constructor(ctx: PostmasterContext) {
    this.#ctx = ctx;
  }

  /** A message from a worker's process. */
  onMessage(slot: WorkerSlot, process: WorkerProcess, raw: unknown): void {
    const ctx = this.#ctx;
    if (slot.process !== process) return;
    const message = parseWorkerMessage(raw);
    if ("invalid" in message) return this.onProtocolViolation(slot, process, message.invalid);
    switch (message.type) {
      case "started":
        // A spare counted as started when it was given the worker: this is its acknowledgement.
        if (slot.phase === "running" && ctx.processes.isBooting(process)) {
          ctx.processes.reportedIn(process);
          // Only now: a spare spawned while the worker starts would take the CPU it needs.
          return ctx.spares.scheduleRefill();
        }
        if (slot.phase !== "launching") return this.onProtocolViolation(slot, process, "reported its start twice");
        ctx.processes.reportedIn(process);
        ctx.spares.scheduleRefill();
        return this.started(slot, process);
      case "log":
        return ctx.log(message.level, message.message, { worker: identityOf(slot, process.pid), stream: "elog" });
      case "ready":
        return; // a cold-started worker's runtime booted: "started" follows
      case "request":
        return this.#onRequest(slot, process, message);
    }
  }

  /** The worker's process exists and counts as started (`BGWH_STARTED`): PostgreSQL's state after its fork. */
  started(slot: WorkerSlot, process: WorkerProcess): void {
    const ctx = this.#ctx;
    ctx.table.reportedIn(slot, Date.now());
    ctx.notifier.notify(slot);
    ctx.listeners.emit("worker", workerEvent(slot, "started", { pid: process.pid }));
  }

  /** The channel carried garbage: kill the worker (its death is no crash) and never restart it. */
  onProtocolViolation(slot: WorkerSlot, process: WorkerProcess, reason: string): void {
    if (slot.process !== process || slot.killedByPostmaster) return;
    this.#ctx.log(
      "WARNING",
      `background worker "${slot.entry.bgw_type}" (PID ${process.pid}) broke the protocol on its channel: ${reason}; terminating it`,
    );
    this.#ctx.table.markTerminate(slot);
    this.#ctx.table.markKilledByPostmaster(slot);
    process.kill("SIGKILL");
  }

  #onRequest(requester: WorkerSlot, process: WorkerProcess, request: RequestMessage): void {
    const ctx = this.#ctx;
    const reply = (value: unknown) => process.send({ type: "reply", id: request.id, ok: true, value });
    const fail = (error: unknown) =>
      process.send({ type: "reply", id: request.id, ok: false, error: toWireError(error) });
    try {
      switch (request.op) {
        case "register": {
          const entry = decodeWorkerEntry(request.worker, { dynamic: true });
          if (entry.bgw_notify_pid !== 0 && entry.bgw_notify_pid !== process.pid) {
            throw new BackgroundWorkerError("bgw_notify_pid must be 0 or the registering worker's own pid", {
              worker: entry.bgw_name,
              field: "bgw_notify_pid",
              code: "invalid_parameter_value",
              detail:
                `Got ${entry.bgw_notify_pid}; the registering worker "${requester.entry.bgw_name}" has pid ${process.pid}.`,
            });
          }
          return reply(ctx.registerDynamic(entry, request.options));
        }
        case "getpid": {
          const slot = ctx.table.lookup(request.handle);
          return reply({
            ...SlotTable.statusOf(slot),
            notifyPid: slot ? slot.notifyPid : 0,
            name: slot ? slot.entry.bgw_name : "(stale handle)",
          });
        }
        case "terminate":
          ctx.terminate(request.handle);
          return reply(null);
      }
    } catch (error) {
      fail(error);
    }
  }
}
