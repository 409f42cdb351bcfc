/**
 * The postmaster's side of the control socket: opened at `start()` when the
 * option `controlSocket` asks for it, closed at `stop()`, and each request
 * answered from the postmaster's own API: `ps` is `backgroundWorkers()`,
 * `metrics` is `metrics()`, `terminate` is `terminateBackgroundWorker`,
 * `reload` is `reloadConfiguration()`, `stop` is `stop(mode)`, `logs` reads
 * the log ring (and follows it).
 *
 * @module
 */

import type { ControlPeer, ControlServer } from "../adapter.ts";
import type { ControlRequest } from "../control_protocol.ts";
import { errorText } from "../errors.ts";
import type { PostmasterContext } from "./context.ts";
import type { WorkerSummary } from "./events.ts";
import type { LogRing } from "./log_ring.ts";
import type { ShutdownMode } from "./pm_state.ts";

/**
 * What the control socket asks of the postmaster's API.
 *
 * @example
 * ```ts
 * import type { ControlApi } from "./control.ts";
 * declare const pm: import("./postmaster.ts").Postmaster;
 * const api: ControlApi = {
 *   workers: () => pm.backgroundWorkers(),
 *   metrics: () => pm.metrics(),
 *   reload: () => pm.reloadConfiguration(),
 *   stop: (mode) => pm.stop(mode),
 *   cluster: async () => ({ hosts: await pm.clusterHosts(), workers: await pm.clusterWorkers() }),
 * };
 * ```
 */
export interface ControlApi {
  workers(): WorkerSummary[];
  metrics(): string;
  reload(): void;
  stop(mode: ShutdownMode): Promise<void>;
  /** The cluster's hosts and workers, for `ps --cluster`; rejects without a cluster. */
  cluster(): Promise<Record<string, unknown>>;
}

/**
 * The control socket, from `open()` to `close()`.
 *
 * @example
 * ```ts
 * import { ControlSocket } from "./control.ts";
 * import { LogRing } from "./log_ring.ts";
 * declare const ctx: import("./context.ts").PostmasterContext;
 * declare const api: import("./control.ts").ControlApi;
 * const control = new ControlSocket(ctx, api, new LogRing());
 * await control.open(); // nothing unless the option asks for it
 * ```
 */
export class ControlSocket {
  readonly #ctx: PostmasterContext;
  readonly #api: ControlApi;
  readonly #ring: LogRing | null;
  #server: ControlServer | null = null;

  /**
   * @param ctx the postmaster's rooms
   * @param api the postmaster's calls the requests map to
   * @param ring the log lines `logs` reads (kept only when there is a control socket)
   */
  constructor(ctx: PostmasterContext, api: ControlApi, ring: LogRing | null) {
    this.#ctx = ctx;
    this.#api = api;
    this.#ring = ring;
    ctx.listeners.on("shutdown", () => void this.close());
  }

  /** Where it listens, or null. */
  get path(): string | null {
    return this.#server?.path ?? null;
  }

  /** Listen, if the option asks for it; rejects, saying why, when the place is not safe. */
  async open(): Promise<void> {
    const option = this.#ctx.options.controlSocket;
    if (option === null || this.#server) return;
    const serve = this.#ctx.adapter.serveControl;
    if (!serve) throw new Error("controlSocket: this runtime adapter offers no control socket");
    this.#server = await serve.call(
      this.#ctx.adapter,
      option === true ? null : option,
      (request, peer) => this.#answer(request, peer),
    );
    this.#ctx.log("LOG", `control socket listening at "${this.#server.path}"`);
  }

  /** Stop listening and remove the socket. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    await server?.close();
  }

  #answer(request: ControlRequest, peer: ControlPeer): void {
    const id = request.id ?? null;
    const ok = (fields: Record<string, unknown> = {}) => peer.send({ id, ok: true, ...fields });
    switch (request.op) {
      case "ps":
        return ok({ postmasterPid: this.#ctx.adapter.pid, workers: this.#api.workers() });
      case "metrics":
        return ok({ text: this.#api.metrics() });
      case "cluster":
        void this.#api.cluster().then(ok, (error) => peer.send({ id, ok: false, error: errorText(error) }));
        return;
      case "terminate":
        this.#ctx.terminate(request.handle);
        return ok();
      case "reload":
        this.#api.reload();
        return ok();
      case "stop":
        ok();
        void this.#api.stop(request.mode);
        return;
      case "logs": {
        const ring = this.#ring!;
        ok({ lines: ring.last(request.lines, request.name) });
        if (!request.follow) return;
        const name = request.name;
        peer.onClose(ring.follow((line) => {
          if (name === null || line.worker?.name === name) peer.send({ id, line });
        }));
        return;
      }
    }
  }
}
