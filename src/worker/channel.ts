/**
 * The worker's end of the channel to its postmaster: what comes in (the
 * start, notifications, pings, replies, announced SIGTERMs), requests
 * that wait for a reply with their id, a wire error turned back into a
 * typed error, and the channel's end, which is the postmaster's death.
 *
 * @module
 */

import { BackgroundWorkerError, type BackgroundWorkerErrorCode } from "../errors.ts";
import type { PingMessage, PostmasterMessage, StartMessage, WireError } from "../protocol.ts";
import type { WorkerPort } from "./port.ts";
import { deliverSignal, sigtermSentByPostmaster } from "./signals.ts";
import { endProcess, requirePort, workerState } from "./state.ts";

/**
 * Milliseconds a worker that asked to hear of the postmaster's death
 * (`WL_POSTMASTER_DEATH`) gets to clean up before it is made to exit: no
 * worker outlives its postmaster for long, whatever its code does.
 *
 * @example
 * ```ts
 * import { myLatch, waitLatch, WL_POSTMASTER_DEATH } from "bgworker/worker";
 * import { ORPHAN_GRACE_MS } from "./channel.ts";
 * await waitLatch(myLatch, WL_POSTMASTER_DEATH, -1); // the postmaster has died
 * const deadline = Date.now() + ORPHAN_GRACE_MS; // clean up before then: the process exits 1 at this time
 * ```
 */
export const ORPHAN_GRACE_MS = 500;

/**
 * The messages the start path handles itself; the channel handles the rest.
 *
 * @example
 * ```ts
 * import type { StartPathEvents } from "./channel.ts";
 * const events: StartPathEvents = { start: (message) => console.log(message.title), ping: () => {} };
 * ```
 */
export interface StartPathEvents {
  /** The start parameters: given once, later ones are ignored. */
  start(message: StartMessage): void;
  /** A ping to a spare before its start (none comes after it). */
  ping(message: PingMessage): void;
}

/**
 * Listen to the postmaster on `port`: notifications and replies are
 * handled here, the start and pings go to `events`, and the channel's end
 * is the postmaster's death.
 *
 * @example
 * ```ts
 * import { listenToPostmaster } from "./channel.ts";
 * import type { WorkerPort } from "./port.ts";
 * declare const port: WorkerPort;
 * declare function startWorker(port: WorkerPort, message: import("../protocol.ts").StartMessage): Promise<void>;
 * listenToPostmaster(port, { start: (message) => void startWorker(port, message), ping: () => {} });
 * ```
 */
export function listenToPostmaster(port: WorkerPort, events: StartPathEvents): void {
  const state = workerState();
  let started = false;
  port.onDisconnect(() => onPostmasterDeath(port));
  port.onMessage((raw) => {
    const message = raw as PostmasterMessage;
    switch (message?.type) {
      case "start":
        if (started) return;
        started = true;
        return events.start(message);
      case "notify": {
        const count = ++state.newsSeq;
        state.news.set(`${message.slot}:${message.generation}`, { count, status: message.status, pid: message.pid });
        for (const wake of [...state.newsWatchers]) wake();
        // PostgreSQL signals the notify pid with SIGUSR1, which sets its latch.
        deliverSignal("SIGUSR1");
        return;
      }
      case "sigterm_sent":
        // A SIGTERM the listener dropped as it was removed is delivered after all.
        return sigtermSentByPostmaster();
      case "ping":
        // Only a spare is pinged: it has time to spare, a cold-started worker must not wait for this.
        if (!started) events.ping(message);
        return;
      case "reply": {
        const pending = state.requests.get(message.id);
        if (!pending) return;
        state.requests.delete(message.id);
        if (message.ok) pending.resolve({ value: message.value, seq: state.newsSeq });
        else pending.reject(fromWireError(message.error));
        return;
      }
    }
  });
}

/**
 * A request's answer, with the notification sequence number at the moment
 * it arrived: a wait compares it with later notifications' to know which
 * are news.
 *
 * @example
 * ```ts
 * import { request } from "./channel.ts";
 * declare const handle: import("../handle.ts").BackgroundWorkerHandle;
 * const { value, seq } = await request("getpid", { handle });
 * ```
 */
export interface Answer {
  value: unknown;
  seq: number;
}

/**
 * Send request `op` and wait for the postmaster's reply; rejects with the
 * postmaster's error, or at once when the postmaster is gone.
 *
 * @example
 * ```ts
 * import { request } from "./channel.ts";
 * const { value: status } = await request("getpid", { handle: { slot: 0, generation: 1 } });
 * ```
 */
export function request(op: string, payload: Record<string, unknown>): Promise<Answer> {
  const state = workerState();
  const port = requirePort(op);
  if (state.postmasterDead) return Promise.reject(new Error(`${op}: the postmaster is gone`));
  const id = state.nextRequestId++;
  return new Promise((resolve, reject) => {
    state.requests.set(id, { resolve: resolve as (value: unknown) => void, reject });
    void port.send({ type: "request", id, op, ...payload });
  });
}

/**
 * Turn an error from the channel back into what the postmaster threw: a
 * `BackgroundWorkerError` with its worker, field and code (its message
 * without the prefix the constructor adds again), or an `Error` with the
 * original name.
 *
 * @example
 * ```ts
 * import { fromWireError } from "./channel.ts";
 * const error = fromWireError({ name: "BackgroundWorkerError", message: 'background worker "w": invalid handle', worker: "w", code: "invalid_handle" });
 * ```
 */
export function fromWireError(wire: WireError): Error {
  if (wire.name === "BackgroundWorkerError" && wire.worker !== undefined) {
    const prefix = `background worker "${wire.worker}": `;
    return new BackgroundWorkerError(
      wire.message.startsWith(prefix) ? wire.message.slice(prefix.length) : wire.message,
      {
        worker: wire.worker,
        field: wire.field,
        code: (wire.code ?? "invalid_parameter_value") as BackgroundWorkerErrorCode,
        detail: wire.detail,
        hint: wire.hint,
      },
    );
  }
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}

function onPostmasterDeath(port: WorkerPort): void {
  const state = workerState();
  if (state.postmasterDead) return;
  state.postmasterDead = true;
  for (const pending of state.requests.values()) pending.reject(new Error("the postmaster is gone"));
  state.requests.clear();
  const watchers = [...state.deathWatchers];
  // Nobody listens for the death: exit now. Otherwise let them hear of it, within a bound.
  if (watchers.length === 0) endProcess(port, 1);
  for (const wake of watchers) wake();
  port.setTimer(ORPHAN_GRACE_MS, () => endProcess(port, 1));
}
