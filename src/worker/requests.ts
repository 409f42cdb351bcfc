/**
 * Requests from a worker to its postmaster over the channel, each answered
 * by a reply with the same id.
 *
 * @module
 */

import { requirePort, workerState } from "./state.ts";

/**
 * A request's answer, with the notification sequence number at the moment it arrived.
 *
 * @example
 * ```ts
 * import { request } from "./requests.ts";
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
 * import { request } from "./requests.ts";
 * const { value: url } = await request("database", { dbname: "mydb", role: null });
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

